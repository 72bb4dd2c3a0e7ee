import { orthonormalizeRows } from "./gram-schmidt.ts";
import { symmetricEigen } from "./jacobi.ts";
import { matmulNT } from "./matrix.ts";

/**
 * Principal angles between the row spaces of R₁ [k₁, D] and R₂ [k₂, D] (Björck & Golub 1973).
 * With orthonormal rows, the cosines cos θ_1 ≥ … ≥ cos θ_m (m = min(k₁, k₂)) are the singular
 * values of M = R₁ R₂ᵀ [k₁, k₂], i.e. the square roots of the eigenvalues of M Mᵀ (or Mᵀ M,
 * whichever is m × m), found by Jacobi. Used to check that DAS recovered a planted subspace:
 * all cosines ≈ 1 means the same subspace, whatever basis either side chose.
 *
 * Going through M Mᵀ squares the cosines: cos² comes out to ~ε, so a cosine c to ~ε/c, and
 * near-orthogonal directions read ~1e-8 rather than 0; likewise acos near 1 resolves angles
 * only to ~√ε ≈ 1e-8. Ample for a recovery test (compare cosines, not angles, against 1).
 */

export interface PrincipalAngles {
  /** cos θ_j [m], descending, in [0, 1]. */
  readonly cosines: Float64Array;
  /** θ_j [m] in radians, ascending, in [0, π/2]. */
  readonly angles: Float64Array;
}

/**
 * Principal angles between row spaces. The rows need not be orthonormal (they are
 * orthonormalised first); they must be linearly independent.
 *
 * Returns `{ cosines, angles }`, one per principal direction (min(k1, k2)).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { principalAngles } from "@patchbay/causal";
 *
 * const a = Float64Array.of(1, 0, 0, 0, 1, 0); // the xy-plane in 3D
 * const b = Float64Array.of(1, 1, 0); // a line in it
 * const { cosines } = principalAngles(a, 2, b, 1, 3);
 * assert.ok(Math.abs(cosines[0]! - 1) < 1e-12);
 * ```
 */
export const principalAngles = (
  r1: Float64Array,
  k1: number,
  r2: Float64Array,
  k2: number,
  d: number,
): PrincipalAngles => {
  let q1 = orthonormalizeRows(r1, k1, d);
  let q2 = orthonormalizeRows(r2, k2, d);
  // make the first one the smaller, so M Mᵀ is m × m
  if (k1 > k2) [q1, q2, k1, k2] = [q2, q1, k2, k1];
  const m = matmulNT(q1, q2, k1, d, k2);
  const { values } = symmetricEigen(matmulNT(m, m, k1, k2, k1), k1);
  const cosines = values.map((v) => Math.min(1, Math.sqrt(Math.max(0, v))));
  return { cosines, angles: cosines.map(Math.acos) };
};

/**
 * A single number for "how much of subspace 2 does subspace 1 capture": the mean squared
 * cosine (1/m) Σ cos² θ_j = ‖P₁P₂‖_F² / m, 1 for the same (or nested) subspace, 0 for orthogonal.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { principalAngles, subspaceOverlap } from "@patchbay/causal";
 *
 * const xy = Float64Array.of(1, 0, 0, 0, 1, 0);
 * const z = Float64Array.of(0, 0, 1);
 * assert.ok(subspaceOverlap(principalAngles(xy, 2, z, 1, 3)) < 1e-12); // orthogonal
 * assert.ok(Math.abs(subspaceOverlap(principalAngles(xy, 2, xy, 2, 3)) - 1) < 1e-12); // the same
 * ```
 */
export const subspaceOverlap = (angles: PrincipalAngles): number => {
  const c = angles.cosines;
  if (c.length === 0) return 0;
  let s = 0;
  for (let i = 0; i < c.length; i++) s += c[i]! * c[i]!;
  return s / c.length;
};
