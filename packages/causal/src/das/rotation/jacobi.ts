/**
 * Symmetric eigendecomposition by cyclic Jacobi rotations: S = V Λ Vᵀ for S [n, n] symmetric.
 * Each rotation in the (p, q) plane zeroes s_pq; the off-diagonal mass Σ_{i≠j} s_ij² falls
 * quadratically once small, so ~6–10 sweeps of n(n−1)/2 rotations reach float64 precision.
 * O(n³) per sweep: meant for the k ≤ 64 Gram matrices of principal angles and polar
 * retraction, not for D × D.
 */

export interface SymmetricEigen {
  /** λ [n], descending. */
  readonly values: Float64Array;
  /** V [n, n] row-major; column j is the unit eigenvector of values[j]. */
  readonly vectors: Float64Array;
}

export const symmetricEigen = (s: Float64Array, n: number, maxSweeps = 100): SymmetricEigen => {
  const a = s.slice(0, n * n);
  // symmetrise: (S + Sᵀ)/2, so rounding asymmetry in a computed Gram matrix does not matter
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      const m = (a[i * n + j]! + a[j * n + i]!) / 2;
      a[i * n + j] = m;
      a[j * n + i] = m;
    }
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  let scale = 0;
  for (let i = 0; i < n * n; i++) scale += a[i]! * a[i]!;
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) off += a[i * n + j]! * a[i * n + j]!;
    if (off <= 1e-32 * scale || off === 0) break;
    for (let p = 0; p < n; p++)
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]!;
        if (apq === 0) continue;
        // choose t = tan φ, the smaller root of t² + 2τt − 1 = 0 with τ = (a_qq − a_pp)/(2 a_pq):
        // then the rotated a'_pq = 0 and |φ| ≤ π/4 (Golub & Van Loan, Alg. 8.5.1)
        const tau = (a[q * n + q]! - a[p * n + p]!) / (2 * apq);
        const t = (tau >= 0 ? 1 : -1) / (Math.abs(tau) + Math.sqrt(1 + tau * tau));
        const c = 1 / Math.sqrt(1 + t * t);
        const sn = t * c;
        // A ← Jᵀ A J with J the (p, q) rotation [[c, s], [−s, c]]: columns, then rows
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p]!;
          const akq = a[k * n + q]!;
          a[k * n + p] = c * akp - sn * akq;
          a[k * n + q] = sn * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k]!;
          const aqk = a[q * n + k]!;
          a[p * n + k] = c * apk - sn * aqk;
          a[q * n + k] = sn * apk + c * aqk;
        }
        // V ← V J accumulates the eigenvectors as columns
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p]!;
          const vkq = v[k * n + q]!;
          v[k * n + p] = c * vkp - sn * vkq;
          v[k * n + q] = sn * vkp + c * vkq;
        }
      }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => a[j * n + j]! - a[i * n + i]!);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((src, dst) => {
    values[dst] = a[src * n + src]!;
    for (let k = 0; k < n; k++) vectors[k * n + dst] = v[k * n + src]!;
  });
  return { values, vectors };
};
