/**
 * Row orthonormalisation by modified Gram–Schmidt: X [k, D] (k ≤ D, full row rank) → Q [k, D]
 * with Q Qᵀ = I_k and X = T Q, T [k, k] lower triangular with positive diagonal. That is the
 * QR factorisation of Xᵀ (Xᵀ = Qᵀ Tᵀ) with the sign convention diag > 0 that makes it unique,
 * which is what both the QR retraction and the Haar sampler need.
 *
 * Each row is swept twice against the earlier rows ("twice is enough", Giraud et al. 2005):
 * one MGS sweep leaves an orthogonality error ∝ ε·cond(X), two leave O(ε).
 */

/** The rows of X are linearly dependent (to working precision). */
export class RankDeficient extends Error {
  constructor(k: number, d: number, row: number) {
    super(`das/rotation: the ${k}×${d} rows are linearly dependent (row ${row})`);
  }
}

/**
 * Q [k, D] with orthonormal rows spanning the rows of X [k, D], Q_i = (X_i − Σ_{j<i} ⟨X_i, Q_j⟩ Q_j)/‖·‖.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { orthonormalityError, orthonormalizeRows } from "@patchbay/causal";
 *
 * const Q = orthonormalizeRows(Float64Array.of(3, 0, 1, 1), 2, 2);
 * assert.ok(orthonormalityError(Q, 2, 2) < 1e-12);
 * assert.deepEqual([...Q.slice(0, 2)], [1, 0]); // the first row, normalised
 * ```
 */
export const orthonormalizeRows = (x: Float64Array, k: number, d: number): Float64Array => {
  if (k > d) throw new RankDeficient(k, d, d);
  const q = x.slice(0, k * d);
  for (let i = 0; i < k; i++) {
    const row = q.subarray(i * d, i * d + d);
    let before = 0;
    for (let c = 0; c < d; c++) before += row[c]! * row[c]!;
    for (let pass = 0; pass < 2; pass++) {
      for (let j = 0; j < i; j++) {
        const prev = q.subarray(j * d, j * d + d);
        let s = 0;
        for (let c = 0; c < d; c++) s += row[c]! * prev[c]!;
        for (let c = 0; c < d; c++) row[c]! -= s * prev[c]!;
      }
    }
    let after = 0;
    for (let c = 0; c < d; c++) after += row[c]! * row[c]!;
    // what is left of the row after removing the earlier ones: ~ε of it means dependence
    if (!(after > 1e-24 * before) || after === 0) throw new RankDeficient(k, d, i);
    const inv = 1 / Math.sqrt(after);
    for (let c = 0; c < d; c++) row[c]! *= inv;
  }
  return q;
};
