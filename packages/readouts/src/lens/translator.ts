import type { HostTensor } from "@patchbay/core/tensor";

/**
 * A tuned-lens translator for one site (Belrose et al. 2023; docs/methods.md#tuned-lens):
 *   T_l(h) = h + A_l h + b_l        A_l [d, d] (row-major: A[i·d + j] maps h_j into output i), b_l [d]
 * Initialised at A = 0, b = 0, i.e. the identity: the tuned lens starts as the logit lens, and
 * the residual form keeps the parametrisation well conditioned when A is small.
 */
export interface Translator {
  readonly site: string;
  /** [d, d] */
  readonly A: Float32Array;
  /** [d] */
  readonly b: Float32Array;
}

/** Translators per site, for one model (by config name and width). */
export interface TunedLens {
  readonly model: string;
  readonly dModel: number;
  readonly translators: readonly Translator[];
}

/**
 * The translator T(h) = h + A h + b with A = 0 and b = 0 (the logit lens): `{ site, A [d·d], b [d] }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { identityTranslator } from "@patchbay/readouts";
 *
 * const t = identityTranslator("blocks.0.resid_post", 3);
 * assert.equal(t.A.length, 9);
 * assert.ok(t.b.every((x) => x === 0));
 * ```
 */
export const identityTranslator = (site: string, d: number): Translator => ({
  site,
  A: new Float32Array(d * d),
  b: new Float32Array(d),
});

/**
 * T(h) for every row of h [N, d] → [N, d]; float64 accumulation, one rounding to float32.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tensor } from "@patchbay/core/tensor";
 * import { applyTranslator, identityTranslator } from "@patchbay/readouts";
 *
 * const t = identityTranslator("blocks.0.resid_post", 2); // A = 0, b = 0: T(h) = h
 * t.b[0] = 1;
 * const out = applyTranslator(t, tensor(Float32Array.of(1, 2, 3, 4), [2, 2]));
 * assert.deepEqual([...out.data], [2, 2, 4, 4]);
 * ```
 */
export const applyTranslator = (t: Translator, h: HostTensor): HostTensor => {
  const d = t.b.length;
  const N = h.data.length / d;
  const out = new Float32Array(h.data.length);
  for (let r = 0; r < N; r++) {
    const o = r * d;
    for (let i = 0; i < d; i++) {
      let s = h.data[o + i]! + t.b[i]!;
      for (let j = 0; j < d; j++) s += t.A[i * d + j]! * h.data[o + j]!;
      out[o + i] = s;
    }
  }
  return { data: out, shape: [...h.shape] };
};

/**
 * Chain rule from g = ∂L/∂T(h) [N, d] (the engine's gradient of the metric with respect to the
 * patched value) to the translator: with T(h)_i = h_i + Σ_j A_ij h_j + b_i,
 *   ∂L/∂A_ij = Σ_r g_ri h_rj        ∂L/∂b_i = Σ_r g_ri
 * over the rows r whose `use` flag is set (real positions; padding carries no loss), times `scale`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { translatorGrads } from "@patchbay/readouts";
 *
 * // one row h = [1, 2] with upstream gradient g = [1, 0]
 * const { A, b } = translatorGrads(Float32Array.of(1, 0), Float32Array.of(1, 2), 2, () => true);
 * assert.deepEqual([...A], [1, 2, 0, 0]); // ∂L/∂A_ij = g_i h_j
 * assert.deepEqual([...b], [1, 0]);
 * ```
 */
export const translatorGrads = (
  g: Float32Array,
  h: Float32Array,
  d: number,
  use: (row: number) => boolean,
  scale = 1,
): { A: Float32Array; b: Float32Array } => {
  const N = h.length / d;
  const gA = new Float64Array(d * d);
  const gb = new Float64Array(d);
  for (let r = 0; r < N; r++) {
    if (!use(r)) continue;
    const o = r * d;
    for (let i = 0; i < d; i++) {
      const gi = g[o + i]!;
      if (gi === 0) continue;
      gb[i] = gb[i]! + gi;
      for (let j = 0; j < d; j++) gA[i * d + j] = gA[i * d + j]! + gi * h[o + j]!;
    }
  }
  return {
    A: Float32Array.from(gA, (x) => x * scale),
    b: Float32Array.from(gb, (x) => x * scale),
  };
};
