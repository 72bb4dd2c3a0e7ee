import { cayleyRotation } from "./cayley.ts";
import { expmRotation } from "./expm.ts";
import { householderRotation } from "./householder.ts";
import { stiefelRotation } from "./stiefel.ts";
import type { Rotation, RotationKind, RotationOptions } from "./types.ts";

export type { Rotation, RotationKind, RotationOptions } from "./types.ts";

/**
 * The common face of the parametrizations. DAS learns an orthogonal Q [D, D] but only ever
 * uses its first k rows R [k, D] (R Rᵀ = I_k): the interchange intervention
 * h' = h + Rᵀ (R h_source − R h) acts on the k rotated coordinates. So every parametrization
 * maps θ [nParams] → R [k, D] and pulls dL/dR [k, D] back to dL/dθ [nParams]; a trainer can swap
 * them by name and step all of them the same way:
 *
 *   R = rot.matrix(θ); … dR = ∂L/∂R …; g = rot.vjp(θ, dR); Δ = optimiser(g); θ = rot.retract(θ, Δ)
 *
 * For the unconstrained parametrizations (cayley, householder, expm) retract is θ + Δ and vjp
 * is the exact Euclidean gradient. For "retraction" θ is R itself: vjp is the Riemannian
 * gradient on the Stiefel manifold and retract re-orthonormalises.
 */

export const rotationKinds: readonly RotationKind[] = ["cayley", "householder", "expm", "retraction"];

/**
 * The parametrization called kind, for Q [D, D] and R [k, D].
 *
 * Returns a Rotation `{ kind, size, rank, nParams, init, matrix, vjp, retract }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeRotation, orthonormalityError } from "@patchbay/causal";
 *
 * const rot = makeRotation("householder", 4, 2); // R [2, 4]
 * const R = rot.matrix(rot.init(0));
 * assert.equal(R.length, 2 * 4);
 * assert.ok(orthonormalityError(R, 2, 4) < 1e-9); // R Rᵀ = I
 * ```
 */
export const makeRotation = (
  kind: RotationKind,
  d: number,
  k: number,
  opts: RotationOptions = {},
): Rotation => {
  switch (kind) {
    case "cayley":
      return cayleyRotation(d, k, opts);
    case "householder":
      return householderRotation(d, k, opts);
    case "expm":
      return expmRotation(d, k, opts);
    case "retraction":
      return stiefelRotation(d, k, opts);
  }
};
