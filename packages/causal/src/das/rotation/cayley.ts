import { luFactor, luSolve, luSolveTransposed } from "./lu.ts";
import { gaussian } from "./random.ts";
import type { Rotation, RotationOptions } from "./types.ts";
import { checkLength, checkShape } from "./shape.ts";
import { skewFromParams, skewParamCount } from "./skew.ts";

/**
 * The Cayley parametrization: A = skew(θ), θ [D(D−1)/2], and
 *
 *   Q = (I − A)⁻¹ (I + A)      (= (I + A)(I − A)⁻¹: the two factors commute)
 *
 * Orthogonal because QᵀQ = (I − A)(I + A)⁻¹(I − A)⁻¹(I + A) = I (all four commute, Aᵀ = −A).
 * I ± A is never singular (A's eigenvalues are ±iλ), but Q never has eigenvalue −1 (a rotation
 * by π needs λ → ∞), and det Q = +1: it reaches SO(D) minus a measure-zero set, which is all of
 * the row spaces DAS can ask for.
 *
 * Only the first k rows of Q are formed. Writing (I + A) = 2I − (I − A),
 *
 *   Q = 2 (I − A)⁻¹ − I,   and row i of (I − A)⁻¹ is ((I − A)⁻ᵀ e_i)ᵀ = ((I + A)⁻¹ e_i)ᵀ,
 *
 * so with P = (I + A)⁻¹ E_k [D, k] (E_k = the first k columns of I), R = 2 Pᵀ − E_kᵀ.
 * One LU of I + A, k solves: O(D³/3 + k D²).
 */

/** P [D, k] = (I + A)⁻¹ E_k and the LU of I + A, shared by forward and VJP. */
const solveTop = (theta: Float64Array, d: number, k: number) => {
  const ipa = skewFromParams(theta, d);
  for (let i = 0; i < d; i++) ipa[i * d + i] = 1;
  const lu = luFactor(ipa, d);
  const ek = new Float64Array(d * k);
  for (let i = 0; i < k; i++) ek[i * k + i] = 1;
  return { lu, p: luSolve(lu, ek, k) };
};

/**
 * R [k, D] = the first k rows of (I − A)⁻¹(I + A), A = skew(θ).
 *
 * Returns R as a Float64Array [k·D], row-major.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cayleyRows, orthonormalityError, skewParamCount } from "@patchbay/causal";
 *
 * const theta = Float64Array.from({ length: skewParamCount(4) }, (_, i) => 0.1 * (i + 1));
 * const R = cayleyRows(theta, 4, 2);
 * assert.ok(orthonormalityError(R, 2, 4) < 1e-9); // R Rᵀ = I
 * assert.deepEqual([...cayleyRows(new Float64Array(6), 4, 2)], [1, 0, 0, 0, 0, 1, 0, 0]); // θ = 0: Q = I
 * ```
 */
export const cayleyRows = (theta: Float64Array, d: number, k: number): Float64Array => {
  const { p } = solveTop(theta, d, k);
  const r = new Float64Array(k * d);
  for (let i = 0; i < k; i++)
    for (let j = 0; j < d; j++) r[i * d + j] = 2 * p[j * k + i]! - (i === j ? 1 : 0);
  return r;
};

/**
 * dL/dθ [D(D−1)/2] from dR [k, D]. With M = I − A, Q = M⁻¹(I + A):
 *
 *   dQ = −M⁻¹ dM M⁻¹(I + A) + M⁻¹ dA = M⁻¹ dA (Q + I)      (dM = −dA)
 *   ⟨G, dQ⟩ = ⟨M⁻ᵀ G (I + Q)ᵀ, dA⟩  ⇒  dL/dA = (I + A)⁻¹ G (I + Qᵀ)   (M⁻ᵀ = (I + A)⁻¹)
 *
 * G = E_k dR is zero below row k, so (I + A)⁻¹ G = P dR, and dR (I + Qᵀ) = dR + (Q dRᵀ)ᵀ with
 * Q dRᵀ = 2 M⁻¹ dRᵀ − dRᵀ: the dR terms cancel and
 *
 *   dL/dA = 2 P Wᵀ,   W = (I − A)⁻¹ dRᵀ = (I + A)⁻ᵀ dRᵀ [D, k]
 *
 * — rank k, from the same LU. Then dθ_ij = dA_ij − dA_ji (skew's pullback).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cayleyRows, cayleyVjp } from "@patchbay/causal";
 *
 * // check against a finite difference of L = Σ dR ⊙ R(θ)
 * const theta = Float64Array.of(0.1, -0.2, 0.3);
 * const dR = Float64Array.of(1, 2, 3);
 * const g = cayleyVjp(theta, 3, 1, dR);
 * const L = (t: Float64Array) => cayleyRows(t, 3, 1).reduce((s, r, i) => s + r * dR[i]!, 0);
 * const h = 1e-6;
 * const up = Float64Array.from(theta);
 * up[0]! += h;
 * assert.ok(Math.abs((L(up) - L(theta)) / h - g[0]!) < 1e-4);
 * ```
 */
export const cayleyVjp = (theta: Float64Array, d: number, k: number, dR: Float64Array): Float64Array => {
  const { lu, p } = solveTop(theta, d, k);
  const dRt = new Float64Array(d * k);
  for (let i = 0; i < k; i++) for (let j = 0; j < d; j++) dRt[j * k + i] = dR[i * d + j]!;
  const w = luSolveTransposed(lu, dRt, k);
  const out = new Float64Array(skewParamCount(d));
  let t = 0;
  for (let i = 0; i < d; i++)
    for (let j = i + 1; j < d; j++) {
      let s = 0;
      for (let c = 0; c < k; c++) s += p[i * k + c]! * w[j * k + c]! - p[j * k + c]! * w[i * k + c]!;
      out[t++] = 2 * s;
    }
  return out;
};

/**
 * The cayley parametrization of R [k, D] (see makeRotation): a Rotation `{ kind, size, rank, nParams, init, matrix, vjp, retract }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cayleyRotation, orthonormalityError } from "@patchbay/causal";
 *
 * const rot = cayleyRotation(4, 2); // R [2, 4]
 * const R = rot.matrix(rot.init(0));
 * assert.equal(R.length, 2 * 4);
 * assert.ok(orthonormalityError(R, 2, 4) < 1e-9); // R Rᵀ = I
 * ```
 */
export const cayleyRotation = (d: number, k: number, opts: RotationOptions = {}): Rotation => {
  checkShape("cayley", d, k);
  const nParams = skewParamCount(d);
  const scale = opts.initScale ?? 1 / Math.sqrt(d);
  return {
    kind: "cayley",
    size: d,
    rank: k,
    nParams,
    init: (seed) => gaussian(seed, nParams).map((z) => scale * z),
    matrix: (theta) => {
      checkLength("cayley θ", theta, nParams);
      return cayleyRows(theta, d, k);
    },
    vjp: (theta, dR) => {
      checkLength("cayley θ", theta, nParams);
      checkLength("cayley dR", dR, k * d);
      return cayleyVjp(theta, d, k, dR);
    },
    retract: (theta, delta) => {
      checkLength("cayley Δ", delta, nParams);
      return theta.map((t, i) => t + delta[i]!);
    },
  };
};
