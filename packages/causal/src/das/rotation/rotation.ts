import { cayleyRotation } from "./cayley.ts";
import { expmRotation } from "./expm.ts";
import { householderRotation } from "./householder.ts";
import { type StiefelRetraction, stiefelRotation } from "./stiefel.ts";

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

export type RotationKind = "cayley" | "householder" | "expm" | "retraction";

export const rotationKinds: readonly RotationKind[] = ["cayley", "householder", "expm", "retraction"];

export interface Rotation {
  readonly kind: RotationKind;
  /** D: the width of the space rotated. */
  readonly size: number;
  /** k: how many rows of Q are returned (the DAS subspace dimension), 1 ≤ k ≤ D. */
  readonly rank: number;
  /** Length of θ. */
  readonly nParams: number;
  /** θ [nParams], deterministic per seed. */
  init(seed: number): Float64Array;
  /** R [k, D] = the first k rows of Q(θ); R Rᵀ = I_k. */
  matrix(theta: Float64Array): Float64Array;
  /** dL/dθ [nParams] from dL/dR [k, D] (for "retraction": the Riemannian gradient). */
  vjp(theta: Float64Array, dR: Float64Array): Float64Array;
  /** θ' [nParams] after moving by delta [nParams] (θ + Δ, or back onto the manifold). */
  retract(theta: Float64Array, delta: Float64Array): Float64Array;
}

export interface RotationOptions {
  /** Householder: the number of reflections n (default k, which reaches every k-dim row space). */
  readonly reflections?: number;
  /**
   * Cayley and expm: θ ~ N(0, s²) at init (default 1/√D: A's eigenvalues ±iλ then spread over
   * |λ| ≲ 2, a well-mixed rotation; 0 gives Q = I). Householder vectors are N(0, 1) (their scale
   * does not matter).
   */
  readonly initScale?: number;
  /** "retraction": how to return to the manifold (default "qr"). */
  readonly retraction?: StiefelRetraction;
}

/** The parametrization called kind, for Q [D, D] and R [k, D]. */
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
