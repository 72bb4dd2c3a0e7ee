import { mulberry32, normals } from "@patchbay/core/model";
import { orthonormalizeRows } from "./gram-schmidt.ts";

/**
 * Seeded randomness for initialisation and controls, on @patchbay/core's mulberry32 stream
 * (Box–Muller normals), so a seed means the same numbers on every platform.
 */

/** n standard normals [n] in float64 for a seed (core's normals, widened). */
export const gaussian = (seed: number, n: number): Float64Array => Float64Array.from(normals(seed >>> 0, n));

/** n uniforms in [0, 1) for a seed. */
export const uniforms = (seed: number, n: number): Float64Array => {
  const u = mulberry32(seed >>> 0);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = u();
  return out;
};

/**
 * A Haar-random R [k, D] with orthonormal rows (uniform on the Stiefel manifold), the "random
 * rotation" control. Z [k, D] iid N(0, 1) is invariant in law under Z ↦ Z Q for any orthogonal
 * Q; Gram–Schmidt on its rows is Z = T R with T lower triangular, diag(T) > 0, and that sign
 * convention makes R a function of Z that commutes with Z ↦ Z Q, so R is invariant too: Haar.
 * (Without the sign correction — e.g. a QR whose R-factor has arbitrary signs — the law of R is
 * biased; Mezzadri 2007.) k = D gives a Haar orthogonal D × D matrix.
 *
 * Returns R as a Float64Array [k·D], row-major.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { orthonormalityError, randomRotation } from "@patchbay/causal";
 *
 * const R = randomRotation(4, 2, 7);
 * assert.ok(orthonormalityError(R, 2, 4) < 1e-9); // R Rᵀ = I
 * assert.deepEqual(randomRotation(4, 2, 7), R); // seeded
 * ```
 */
export const randomRotation = (d: number, k: number, seed: number): Float64Array =>
  orthonormalizeRows(gaussian(seed, k * d), k, d);
