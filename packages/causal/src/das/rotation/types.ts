/** The Rotation interface and its options (./rotation.ts explains the parametrizations). */

/** How the "retraction" parametrization returns to the Stiefel manifold. */
export type StiefelRetraction = "qr" | "polar";

export type RotationKind = "cayley" | "householder" | "expm" | "retraction";

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
