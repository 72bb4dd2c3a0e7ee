/**
 * Dense row-major Float64 matrix helpers for the rotation layer. Every matrix is a flat
 * Float64Array with its shape passed explicitly: a [m, n] has a[i·n + j] = a_ij.
 * Small and allocation-light rather than general; D is at most a residual width (≤ a few
 * thousand), so the O(D³) products here are the cost that matters.
 */

/** I [n, n]. */
export const identity = (n: number): Float64Array => {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) out[i * n + i] = 1;
  return out;
};

/** C [m, p] = A [m, n] · B [n, p] (i-k-j loop order: B and C are read along rows). */
export const matmul = (a: Float64Array, b: Float64Array, m: number, n: number, p: number): Float64Array => {
  const c = new Float64Array(m * p);
  for (let i = 0; i < m; i++) {
    const ci = i * p;
    for (let l = 0; l < n; l++) {
      const ail = a[i * n + l]!;
      if (ail === 0) continue;
      const bl = l * p;
      for (let j = 0; j < p; j++) c[ci + j]! += ail * b[bl + j]!;
    }
  }
  return c;
};

/** C [m, p] = A [m, n] · Bᵀ, B [p, n] (dot products of rows: e.g. R Rᵀ). */
export const matmulNT = (a: Float64Array, b: Float64Array, m: number, n: number, p: number): Float64Array => {
  const c = new Float64Array(m * p);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < p; j++) {
      let s = 0;
      for (let l = 0; l < n; l++) s += a[i * n + l]! * b[j * n + l]!;
      c[i * p + j] = s;
    }
  }
  return c;
};

/** Aᵀ [n, m] of A [m, n]. */
export const transpose = (a: Float64Array, m: number, n: number): Float64Array => {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) out[j * m + i] = a[i * n + j]!;
  return out;
};

/** a + s·b, elementwise (same length). */
export const axpy = (a: Float64Array, s: number, b: Float64Array): Float64Array => {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! + s * b[i]!;
  return out;
};

/** ⟨A, B⟩ = Σ a_ij b_ij (the Frobenius inner product; the pairing a VJP is defined by). */
export const dot = (a: Float64Array, b: Float64Array): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

/** ‖A‖_F. */
export const frobenius = (a: Float64Array): number => Math.sqrt(dot(a, a));

/** ‖A‖₁ = max_j Σ_i |a_ij| of A [n, n] (the norm the scaling-and-squaring bounds use). */
export const norm1 = (a: Float64Array, n: number): number => {
  let best = 0;
  for (let j = 0; j < n; j++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += Math.abs(a[i * n + j]!);
    if (s > best) best = s;
  }
  return best;
};

/**
 * ‖R Rᵀ − I_k‖_F for R [k, D]: 0 exactly when the rows are orthonormal.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { orthonormalityError } from "@patchbay/causal";
 *
 * assert.equal(orthonormalityError(Float64Array.of(1, 0, 0, 1), 2, 2), 0);
 * assert.equal(orthonormalityError(Float64Array.of(2, 0), 1, 2), 3); // |2² − 1|
 * ```
 */
export const orthonormalityError = (r: Float64Array, k: number, d: number): number => {
  const g = matmulNT(r, r, k, d, k);
  for (let i = 0; i < k; i++) g[i * k + i]! -= 1;
  return frobenius(g);
};

/** The first k rows of A [n, n], as [k, n]. */
export const topRows = (a: Float64Array, k: number, n: number): Float64Array => a.slice(0, k * n);
