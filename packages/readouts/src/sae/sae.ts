import { InputError } from "@patchbay/core/errors";
import type { DecoderNorm, SaeArch } from "./spec.ts";

/**
 * A sparse autoencoder's parameters, in float64 on the host (the SAE is small and is not the
 * model: training and encoding it in plain TS is exact and reproducible).
 *
 * Shapes (d = the site's vector size, m = dictSize):
 *   encoder  [m, d]  W_enc (standard) or W_gate (gated), row i reads feature i
 *   bEnc     [m]     b_enc or b_gate
 *   rMag     [m]     gated only: W_mag[i, :] = exp(rMag[i]) · W_gate[i, :]
 *   bMag     [m]     gated only
 *   decoder  [m, d]  row i is the column W_dec[:, i], feature i's direction
 *   bDec     [d]
 * The SAE works on c·x (c = inputScale) and returns x̂ / c, so all its parameters are in the
 * normalised units and x̂ is in the site's own units.
 */
export interface Sae {
  readonly arch: SaeArch;
  readonly site: string;
  readonly d: number;
  readonly m: number;
  readonly inputScale: number;
  readonly decoderNorm: DecoderNorm;
  readonly encoder: Float64Array;
  readonly bEnc: Float64Array;
  readonly rMag: Float64Array | null;
  readonly bMag: Float64Array | null;
  readonly decoder: Float64Array;
  readonly bDec: Float64Array;
}

/** Features of one token. x: [d] in site units → f: [m] (written into `f`). */
export const encodeInto = (sae: Sae, x: ArrayLike<number>, xOff: number, f: Float64Array): void => {
  const { d, m, encoder, bEnc, inputScale: c } = sae;
  const u = new Float64Array(d); //                                          [d] = c·x − b_dec
  for (let j = 0; j < d; j++) u[j] = c * x[xOff + j]! - sae.bDec[j]!;
  for (let i = 0; i < m; i++) {
    let a = 0;
    const row = i * d;
    for (let j = 0; j < d; j++) a += encoder[row + j]! * u[j]!;
    if (sae.arch === "standard") {
      const z = a + bEnc[i]!;
      f[i] = Math.max(z, 0);
    } else {
      // The gate decides which features fire; the magnitude path, sharing W_gate's directions
      // up to a per-feature scale exp(r_mag), decides how much.
      const gate = a + bEnc[i]!;
      const mag = Math.exp(sae.rMag![i]!) * a + sae.bMag![i]!;
      f[i] = gate > 0 && mag > 0 ? mag : 0;
    }
  }
};

/** x̂ = (W_dec f + b_dec) / c, in site units, written into `out` at `outOff`. f: [m]. */
export const decodeInto = (sae: Sae, f: Float64Array, out: Float64Array, outOff = 0): void => {
  const { d, m, decoder, inputScale: c } = sae;
  for (let j = 0; j < d; j++) out[outOff + j] = sae.bDec[j]!;
  for (let i = 0; i < m; i++) {
    const fi = f[i]!;
    if (fi === 0) continue;
    const row = i * d;
    for (let j = 0; j < d; j++) out[outOff + j]! += fi * decoder[row + j]!;
  }
  for (let j = 0; j < d; j++) out[outOff + j]! /= c;
};

/**
 * Features of n tokens: x [n, d] → f [n, m].
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encode, makeSae } from "@patchbay/readouts";
 * // the identity dictionary in d = 2: f = ReLU(x), x̂ = f
 * const sae = makeSae({ arch: "standard", site: "blocks.0.resid_post", d: 2, m: 2, encoder: [1, 0, 0, 1], bEnc: [0, 0], decoder: [1, 0, 0, 1], bDec: [0, 0] });
 * assert.deepEqual([...encode(sae, [-1, 3], 1)], [0, 3]);
 * ```
 */
export const encode = (sae: Sae, x: ArrayLike<number>, n: number): Float64Array => {
  checkRows(sae, x, n, "x");
  const f = new Float64Array(n * sae.m);
  const row = new Float64Array(sae.m);
  for (let t = 0; t < n; t++) {
    encodeInto(sae, x, t * sae.d, row);
    f.set(row, t * sae.m);
  }
  return f;
};

/**
 * Reconstructions of n tokens: f [n, m] → x̂ [n, d].
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decode, makeSae } from "@patchbay/readouts";
 * // the identity dictionary in d = 2: f = ReLU(x), x̂ = f
 * const sae = makeSae({ arch: "standard", site: "blocks.0.resid_post", d: 2, m: 2, encoder: [1, 0, 0, 1], bEnc: [0, 0], decoder: [1, 0, 0, 1], bDec: [0, 0] });
 * assert.deepEqual([...decode(sae, Float64Array.of(0, 3), 1)], [0, 3]);
 * ```
 */
export const decode = (sae: Sae, f: Float64Array, n: number): Float64Array => {
  const out = new Float64Array(n * sae.d);
  for (let t = 0; t < n; t++) decodeInto(sae, f.subarray(t * sae.m, (t + 1) * sae.m), out, t * sae.d);
  return out;
};

const checkRows = (sae: Sae, x: ArrayLike<number>, n: number, field: string): void => {
  if (x.length !== n * sae.d)
    throw new InputError({
      field,
      expected: `${n} rows of the SAE's d = ${sae.d} (${n * sae.d} values)`,
      found: `${x.length} values`,
    });
};

/**
 * ‖W_dec[:, i]‖ for every feature: [m].
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decoderNorms } from "@patchbay/readouts";
 *
 * assert.deepEqual([...decoderNorms({ d: 2, m: 2, decoder: Float64Array.of(3, 4, 0, 1) })], [5, 1]);
 * ```
 */
export const decoderNorms = (sae: Pick<Sae, "d" | "m" | "decoder">): Float64Array => {
  const out = new Float64Array(sae.m);
  for (let i = 0; i < sae.m; i++) {
    let s = 0;
    for (let j = 0; j < sae.d; j++) s += sae.decoder[i * sae.d + j]! ** 2;
    out[i] = Math.sqrt(s);
  }
  return out;
};

/** Arguments of makeSae: parameters as plain arrays (row-major, shapes as in Sae). */
export interface SaeParams {
  readonly arch: SaeArch;
  readonly site: string;
  readonly d: number;
  readonly m: number;
  readonly inputScale?: number;
  readonly decoderNorm?: DecoderNorm;
  readonly encoder: ArrayLike<number>;
  readonly bEnc: ArrayLike<number>;
  readonly rMag?: ArrayLike<number>;
  readonly bMag?: ArrayLike<number>;
  readonly decoder: ArrayLike<number>;
  readonly bDec: ArrayLike<number>;
}

/**
 * An SAE from given parameters, every size and value checked (InputError naming the tensor).
 *
 * Returns a Sae `{ arch, site, d, m, inputScale, decoderNorm, encoder, bEnc, rMag, bMag, decoder, bDec }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSae } from "@patchbay/readouts";
 * const sae = makeSae({ arch: "standard", site: "blocks.0.resid_post", d: 2, m: 2, encoder: [1, 0, 0, 1], bEnc: [0, 0], decoder: [1, 0, 0, 1], bDec: [0, 0] });
 * assert.equal(sae.inputScale, 1); // the default
 * assert.throws(() => makeSae({ arch: "standard", site: "x", d: 2, m: 2, encoder: [1], bEnc: [0, 0], decoder: [1, 0, 0, 1], bDec: [0, 0] }));
 * ```
 */
export const makeSae = (p: SaeParams): Sae => {
  const need = (name: string, t: ArrayLike<number> | undefined, size: number): Float64Array => {
    if (t === undefined) throw new InputError({ field: name, expected: `${size} values`, found: "nothing" });
    if (t.length !== size)
      throw new InputError({ field: name, expected: `${size} values`, found: `${t.length}` });
    const out = Float64Array.from(t);
    const bad = out.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0)
      throw new InputError({
        field: `${name}[${bad}]`,
        expected: "a finite number",
        found: String(out[bad]),
      });
    return out;
  };
  if (!(Number.isInteger(p.d) && p.d > 0))
    throw new InputError({ field: "d", expected: "a positive integer", found: String(p.d) });
  if (!(Number.isInteger(p.m) && p.m > 0))
    throw new InputError({ field: "m", expected: "a positive integer", found: String(p.m) });
  const c = p.inputScale ?? 1;
  if (!(Number.isFinite(c) && c > 0))
    throw new InputError({ field: "inputScale", expected: "a finite positive number", found: String(c) });
  const gated = p.arch === "gated";
  return {
    arch: p.arch,
    site: p.site,
    d: p.d,
    m: p.m,
    inputScale: c,
    decoderNorm: p.decoderNorm ?? "unit",
    encoder: need("encoder", p.encoder, p.m * p.d),
    bEnc: need("bEnc", p.bEnc, p.m),
    rMag: gated ? need("rMag", p.rMag, p.m) : null,
    bMag: gated ? need("bMag", p.bMag, p.m) : null,
    decoder: need("decoder", p.decoder, p.m * p.d),
    bDec: need("bDec", p.bDec, p.d),
  };
};

/** A deep copy (training updates copies, never the caller's SAE). */
export const cloneSae = (s: Sae): Sae => ({
  ...s,
  encoder: s.encoder.slice(),
  bEnc: s.bEnc.slice(),
  rMag: s.rMag?.slice() ?? null,
  bMag: s.bMag?.slice() ?? null,
  decoder: s.decoder.slice(),
  bDec: s.bDec.slice(),
});
