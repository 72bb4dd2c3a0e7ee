import { orthonormalizeRows } from "./gram-schmidt.ts";
import { symmetricEigen } from "./jacobi.ts";
import { matmul, matmulNT } from "./matrix.ts";
import { randomRotation } from "./random.ts";
import type { Rotation, RotationOptions } from "./types.ts";
import { checkLength, checkShape } from "./shape.ts";

/**
 * Optimising R [k, D] directly on the Stiefel manifold St(k, D) = {R : R Rᵀ = I_k}: take the
 * Euclidean gradient, project it onto the tangent space, step, and map back to the manifold
 * with a retraction. No parametrization, no O(D³) solves: everything here is O(k² D).
 *
 * Tangent space at R: T_R = {Δ [k, D] : R Δᵀ + Δ Rᵀ = 0} (differentiate R Rᵀ = I).
 */

/**
 * The Riemannian gradient for the embedded (Euclidean) metric: the orthogonal projection of
 * G [k, D] onto T_R,
 *
 *   P_R(G) = G − sym(G Rᵀ) R,   sym(M) = (M + Mᵀ)/2,
 *
 * since R P(G)ᵀ + P(G) Rᵀ = R Gᵀ + G Rᵀ − 2 sym(G Rᵀ) = 0, and what is removed, S R with S
 * symmetric, is exactly the normal space.
 *
 * Returns the projected gradient [k·D].
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { stiefelProject } from "@patchbay/causal";
 *
 * const R = Float64Array.of(1, 0, 0); // R [1, 3]
 * // the part of G along R itself (a normal direction) is removed
 * assert.deepEqual([...stiefelProject(R, Float64Array.of(5, 1, 2), 1, 3)], [0, 1, 2]);
 * ```
 */
export const stiefelProject = (r: Float64Array, g: Float64Array, k: number, d: number): Float64Array => {
  const grt = matmulNT(g, r, k, d, k);
  const sym = new Float64Array(k * k);
  for (let i = 0; i < k; i++)
    for (let j = 0; j < k; j++) sym[i * k + j] = (grt[i * k + j]! + grt[j * k + i]!) / 2;
  const sr = matmul(sym, r, k, k, d);
  return g.map((v, i) => v - sr[i]!);
};

/**
 * The QR retraction: R' = qf(R + Δ), the Gram–Schmidt orthonormalisation of the rows of R + Δ
 * (positive-diagonal triangular factor). qf(R + tΔ) = R + tΔ + O(t²) for Δ ∈ T_R.
 *
 * Returns R' [k·D] with orthonormal rows.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { orthonormalityError, retractQR } from "@patchbay/causal";
 *
 * const R0 = Float64Array.of(1, 0, 0, 0, 0, 1, 0, 0); // R [2, 4]
 * const step = Float64Array.of(0, 0.1, 0.2, 0, 0.3, 0, 0, 0.1);
 * const R = retractQR(R0, step, 2, 4);
 * assert.ok(orthonormalityError(R, 2, 4) < 1e-9); // R Rᵀ = I
 * ```
 */
export const retractQR = (r: Float64Array, step: Float64Array, k: number, d: number): Float64Array =>
  orthonormalizeRows(
    r.map((v, i) => v + step[i]!),
    k,
    d,
  );

/**
 * The polar retraction: R' = (X Xᵀ)^(−1/2) X with X = R + Δ — the orthonormal-row matrix
 * nearest X in Frobenius norm, and equivariant under X ↦ U X V for orthogonal U, V (QR is not,
 * under U). (X Xᵀ)^(−1/2) = V Λ^(−1/2) Vᵀ by Jacobi on the k × k Gram matrix.
 *
 * Returns R' [k·D] with orthonormal rows.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { orthonormalityError, retractPolar } from "@patchbay/causal";
 *
 * const R0 = Float64Array.of(1, 0, 0, 0, 0, 1, 0, 0); // R [2, 4]
 * const step = Float64Array.of(0, 0.1, 0.2, 0, 0.3, 0, 0, 0.1);
 * const R = retractPolar(R0, step, 2, 4);
 * assert.ok(orthonormalityError(R, 2, 4) < 1e-9); // R Rᵀ = I
 * ```
 */
export const retractPolar = (r: Float64Array, step: Float64Array, k: number, d: number): Float64Array => {
  const x = r.map((v, i) => v + step[i]!);
  const { values, vectors } = symmetricEigen(matmulNT(x, x, k, d, k), k);
  const inv = new Float64Array(k * k);
  for (let i = 0; i < k; i++)
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let c = 0; c < k; c++) {
        const lambda = values[c]!;
        if (!(lambda > 0)) throw new RangeError("das/rotation retractPolar: R + Δ is rank deficient");
        s += (vectors[i * k + c]! * vectors[j * k + c]!) / Math.sqrt(lambda);
      }
      inv[i * k + j] = s;
    }
  return matmul(inv, x, k, k, d);
};

export type { StiefelRetraction } from "./types.ts";

/**
 * R itself as the parameters, θ = R [k, D] (nParams = k·D). matrix(θ) returns θ as given — it
 * is the caller's job to keep θ on the manifold, which retract does; vjp is the Riemannian
 * gradient P_R(dR); retract(θ, Δ) = qf(θ + Δ) (or polar). init is Haar-random.
 *
 * Returns a Rotation `{ kind, size, rank, nParams, init, matrix, vjp, retract }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { orthonormalityError, stiefelRotation } from "@patchbay/causal";
 *
 * const rot = stiefelRotation(4, 2); // R [2, 4]
 * const R = rot.matrix(rot.init(0));
 * assert.equal(R.length, 2 * 4);
 * assert.ok(orthonormalityError(R, 2, 4) < 1e-9); // R Rᵀ = I
 * ```
 */
export const stiefelRotation = (d: number, k: number, opts: RotationOptions = {}): Rotation => {
  checkShape("retraction", d, k);
  const nParams = k * d;
  const retract = opts.retraction === "polar" ? retractPolar : retractQR;
  return {
    kind: "retraction",
    size: d,
    rank: k,
    nParams,
    init: (seed) => randomRotation(d, k, seed),
    matrix: (theta) => {
      checkLength("retraction θ", theta, nParams);
      return theta.slice();
    },
    vjp: (theta, dR) => {
      checkLength("retraction θ", theta, nParams);
      checkLength("retraction dR", dR, nParams);
      return stiefelProject(theta, dR, k, d);
    },
    retract: (theta, delta) => {
      checkLength("retraction θ", theta, nParams);
      checkLength("retraction Δ", delta, nParams);
      return retract(theta, delta, k, d);
    },
  };
};
