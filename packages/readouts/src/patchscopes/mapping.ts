import { InputError } from "@patchbay/core/errors";
import type { Translator } from "../lens/translator.ts";
import type { Mapping } from "./spec.ts";

const fail = (field: string, expected: string, found: string): never => {
  throw new InputError({ field, expected, found });
};

/**
 * Check f against the two widths; InputErrors name `mapping.…`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkMapping } from "@patchbay/readouts";
 *
 * checkMapping({ _tag: "identity" }, 4, 4);
 * assert.throws(() => checkMapping({ _tag: "identity" }, 4, 8)); // identity needs equal widths
 * ```
 */
export const checkMapping = (f: Mapping, dSrc: number, dTgt: number, field = "mapping"): void => {
  switch (f._tag) {
    case "identity":
      if (dSrc !== dTgt)
        fail(
          field,
          `an affine map for d_src = ${dSrc} → d_tgt = ${dTgt} (identity needs equal widths)`,
          "identity",
        );
      return;
    case "scale":
      if (!Number.isFinite(f.factor)) fail(`${field}.factor`, "a finite number", String(f.factor));
      if (dSrc !== dTgt) fail(field, `an affine map for d_src = ${dSrc} → d_tgt = ${dTgt}`, "scale");
      return;
    case "affine": {
      if (f.rows !== dTgt) fail(`${field}.rows`, `d_tgt = ${dTgt}`, String(f.rows));
      if (f.cols !== dSrc) fail(`${field}.cols`, `d_src = ${dSrc}`, String(f.cols));
      if (f.matrix.length !== f.rows * f.cols)
        fail(`${field}.matrix`, `rows·cols = ${f.rows * f.cols} numbers`, String(f.matrix.length));
      const bad = f.matrix.findIndex((x) => !Number.isFinite(x));
      if (bad >= 0) fail(`${field}.matrix[${bad}]`, "a finite number", String(f.matrix[bad]));
      if (f.bias !== undefined) {
        if (f.bias.length !== f.rows)
          fail(`${field}.bias`, `rows = ${f.rows} numbers`, String(f.bias.length));
        const bb = f.bias.findIndex((x) => !Number.isFinite(x));
        if (bb >= 0) fail(`${field}.bias[${bb}]`, "a finite number", String(f.bias[bb]));
      }
      return;
    }
  }
};

/**
 * f(h) for one vector h [d_src] → [d_tgt], in float64 (f checked by checkMapping).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { applyMapping } from "@patchbay/readouts";
 *
 * assert.deepEqual([...applyMapping({ _tag: "scale", factor: 2 }, [1, 2])], [2, 4]);
 * const swap = { _tag: "affine" as const, rows: 2, cols: 2, matrix: [0, 1, 1, 0], bias: [0, 10] };
 * assert.deepEqual([...applyMapping(swap, [1, 2])], [2, 11]);
 * ```
 */
export const applyMapping = (f: Mapping, h: ArrayLike<number>): Float64Array => {
  switch (f._tag) {
    case "identity":
      return Float64Array.from(h);
    case "scale":
      return Float64Array.from(h, (x) => f.factor * x);
    case "affine": {
      // (M h + c)_i = Σ_j M[i·cols + j] h_j + c_i
      const out = new Float64Array(f.rows);
      for (let i = 0; i < f.rows; i++) {
        let s = f.bias?.[i] ?? 0;
        for (let j = 0; j < f.cols; j++) s += f.matrix[i * f.cols + j]! * h[j]!;
        out[i] = s;
      }
      return out;
    }
  }
};

/**
 * A tuned-lens translator T(h) = h + A h + b as the affine mapping M = I + A, c = b.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { identityTranslator, translatorMapping } from "@patchbay/readouts";
 *
 * const m = translatorMapping(identityTranslator("blocks.0.resid_post", 2));
 * assert.deepEqual(m, { _tag: "affine", rows: 2, cols: 2, matrix: [1, 0, 0, 1], bias: [0, 0] });
 * ```
 */
export const translatorMapping = (t: Translator): Mapping => {
  const d = t.b.length;
  return {
    _tag: "affine",
    rows: d,
    cols: d,
    matrix: Array.from(t.A, (a, k) => a + (Math.floor(k / d) === k % d ? 1 : 0)),
    bias: [...t.b],
  };
};
