import { gaussian } from "./random.ts";
import type { Rotation, RotationOptions } from "./types.ts";
import { checkLength, checkShape } from "./shape.ts";

/**
 * The Householder parametrization: θ = [v_1; …; v_n] [n, D] and
 *
 *   Q = H_1 H_2 ⋯ H_n,   H_i = I − 2 v_i v_iᵀ / ‖v_i‖²
 *
 * Each H_i is a reflection (symmetric, H² = I, det −1), so Q is orthogonal with det (−1)ⁿ.
 * v_i = 0 is read as H_i = I (and gets zero gradient) rather than 0/0.
 *
 * How many reflections: DAS only needs R = E_kᵀ Q, whose row space is Qᵀ span(e_1..e_k).
 * - n = k suffice: take an orthonormal basis U [D, k] of the target row space; Householder QR
 *   gives U = H'_1 ⋯ H'_k [S; 0] with S = diag(±1) (a triangular factor of orthonormal columns
 *   is diagonal). With H_i = H'_{k+1−i}, Qᵀ E_k = H'_1 ⋯ H'_k E_k = U S, so R = S Uᵀ: the target
 *   basis itself up to row signs, which DAS is blind to.
 * - n < k do not: Q fixes span(v_1..v_n)^⊥ pointwise, which meets span(e_1..e_k) in ≥ k − n
 *   dimensions, so the row space always keeps k − n directions of the initial one.
 * Hence the default n = k (nParams = k·D). For the whole Q, n = D reaches every orthogonal Q with
 * det (−1)^D (Cartan–Dieudonné: ≤ D reflections, and H H = I pads the count by twos).
 *
 * Only the k rows are carried: X_0 = E_kᵀ, X_i = X_{i−1} H_i = X_{i−1} − (2/s_i)(X_{i−1} v_i) v_iᵀ,
 * R = X_n; O(n k D).
 */

/** X [k, D] ← X H(v) in place: x_r −= (2/s)(x_r · v) v. */
const reflectRows = (x: Float64Array, k: number, d: number, v: Float64Array): void => {
  let s = 0;
  for (let c = 0; c < d; c++) s += v[c]! * v[c]!;
  if (s === 0) return;
  for (let r = 0; r < k; r++) {
    let a = 0;
    for (let c = 0; c < d; c++) a += x[r * d + c]! * v[c]!;
    const f = (2 * a) / s;
    for (let c = 0; c < d; c++) x[r * d + c]! -= f * v[c]!;
  }
};

/**
 * R [k, D] = E_kᵀ H_1 ⋯ H_n for θ = [v_1; …; v_n] [n, D].
 *
 * Returns R as a Float64Array [k·D], row-major.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { householderRows, orthonormalityError } from "@patchbay/causal";
 *
 * const theta = Float64Array.of(1, 0, 0, 0, 0.5, 1, -1, 2); // n = 2 reflections in D = 4
 * const R = householderRows(theta, 4, 2, 2);
 * assert.ok(orthonormalityError(R, 2, 4) < 1e-9); // R Rᵀ = I
 * ```
 */
export const householderRows = (theta: Float64Array, d: number, k: number, n: number): Float64Array => {
  const x = new Float64Array(k * d);
  for (let i = 0; i < k; i++) x[i * d + i] = 1;
  for (let i = 0; i < n; i++) reflectRows(x, k, d, theta.subarray(i * d, i * d + d));
  return x;
};

/**
 * dL/dθ [n, D] from dR [k, D], backwards through X_i = X_{i−1} H_i. With G = dL/dX_i,
 * a = X_{i−1} v, b = G v [k], s = vᵀv, and X_i = X_{i−1} − (2/s) a vᵀ:
 *
 *   dL/dX_{i−1} = G H_i                                   (H_i symmetric)
 *   dL/dv       = −(2/s)(X_{i−1}ᵀ b + Gᵀ a) + (4/s²)(a·b) v
 *
 * (the last term from d(1/s) = −2 vᵀdv / s²; the result is ⊥ v, as H(cv) = H(v) demands).
 * X_{i−1} = X_i H_i is recovered by reflecting again (H² = I), so memory is O(k D), not O(n k D).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { householderRows, householderVjp } from "@patchbay/causal";
 *
 * // check against a finite difference of L = Σ dR ⊙ R(θ)
 * const theta = Float64Array.of(1, 0.5, -0.3);
 * const dR = Float64Array.of(1, 2, 3);
 * const g = householderVjp(theta, 3, 1, 1, dR);
 * const L = (t: Float64Array) => householderRows(t, 3, 1, 1).reduce((s, r, i) => s + r * dR[i]!, 0);
 * const h = 1e-6;
 * const up = Float64Array.from(theta);
 * up[1]! += h;
 * assert.ok(Math.abs((L(up) - L(theta)) / h - g[1]!) < 1e-4);
 * ```
 */
export const householderVjp = (
  theta: Float64Array,
  d: number,
  k: number,
  n: number,
  dR: Float64Array,
): Float64Array => {
  const x = householderRows(theta, d, k, n);
  const g = dR.slice();
  const out = new Float64Array(n * d);
  const a = new Float64Array(k);
  const b = new Float64Array(k);
  for (let i = n - 1; i >= 0; i--) {
    const v = theta.subarray(i * d, i * d + d);
    let s = 0;
    for (let c = 0; c < d; c++) s += v[c]! * v[c]!;
    if (s === 0) continue;
    reflectRows(x, k, d, v); // X_{i−1}
    let ab = 0;
    for (let r = 0; r < k; r++) {
      let ar = 0;
      let br = 0;
      for (let c = 0; c < d; c++) {
        ar += x[r * d + c]! * v[c]!;
        br += g[r * d + c]! * v[c]!;
      }
      a[r] = ar;
      b[r] = br;
      ab += ar * br;
    }
    const dv = out.subarray(i * d, i * d + d);
    for (let c = 0; c < d; c++) {
      let t = 0;
      for (let r = 0; r < k; r++) t += x[r * d + c]! * b[r]! + g[r * d + c]! * a[r]!;
      dv[c] = (-2 / s) * t + ((4 * ab) / (s * s)) * v[c]!;
    }
    reflectRows(g, k, d, v); // dL/dX_{i−1}
  }
  return out;
};

/**
 * The householder parametrization of R [k, D] (see makeRotation): a Rotation `{ kind, size, rank, nParams, init, matrix, vjp, retract }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { householderRotation, orthonormalityError } from "@patchbay/causal";
 *
 * const rot = householderRotation(4, 2); // R [2, 4]
 * const R = rot.matrix(rot.init(0));
 * assert.equal(R.length, 2 * 4);
 * assert.ok(orthonormalityError(R, 2, 4) < 1e-9); // R Rᵀ = I
 * ```
 */
export const householderRotation = (d: number, k: number, opts: RotationOptions = {}): Rotation => {
  checkShape("householder", d, k);
  const n = opts.reflections ?? k;
  if (!Number.isInteger(n) || n < 0)
    throw new RangeError(`das/rotation householder: reflections must be an integer ≥ 0, got ${n}`);
  const nParams = n * d;
  return {
    kind: "householder",
    size: d,
    rank: k,
    nParams,
    init: (seed) => gaussian(seed, nParams),
    matrix: (theta) => {
      checkLength("householder θ", theta, nParams);
      return householderRows(theta, d, k, n);
    },
    vjp: (theta, dR) => {
      checkLength("householder θ", theta, nParams);
      checkLength("householder dR", dR, k * d);
      return householderVjp(theta, d, k, n, dR);
    },
    retract: (theta, delta) => {
      checkLength("householder Δ", delta, nParams);
      return theta.map((t, i) => t + delta[i]!);
    },
  };
};
