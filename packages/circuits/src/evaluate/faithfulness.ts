/**
 * Faithfulness (docs/methods.md#faithfulness): f(C) = (m(C) − m(∅))/(m(M) − m(∅)), with m(M) the full model's
 * metric and m(∅) the fully ablated graph's. 1 = the circuit recovers the model, 0 = no better
 * than ablating everything; it can exceed 1 or go negative. NaN when m(M) = m(∅).
 *
 * MIB normalises the means: f = (mean m(C) − mean m(∅)) / (mean m(M) − mean m(∅))
 * (MIB_circuit_track/evaluation.py); use `faithfulness` on means for its numbers and
 * `faithfulnessPerExample` for the per-example spread (docs/methods.md#faithfulness).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { faithfulness } from "@patchbay/circuits";
 *
 * assert.equal(faithfulness(3, 1, 5), 0.5); // the circuit recovers half the gap
 * assert.ok(Number.isNaN(faithfulness(3, 1, 1)));
 * ```
 */
export const faithfulness = (mCircuit: number, mEmpty: number, mFull: number): number => {
  const denom = mFull - mEmpty;
  return denom === 0 ? Number.NaN : (mCircuit - mEmpty) / denom;
};

/**
 * f_i = (m_i(C) − m_i(∅)) / (m_i(M) − m_i(∅)) for each example i.
 *
 * Returns a Float64Array, one f per example.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { faithfulnessPerExample } from "@patchbay/circuits";
 *
 * assert.deepEqual([...faithfulnessPerExample([3, 2], [1, 0], [5, 2])], [0.5, 1]);
 * ```
 */
export const faithfulnessPerExample = (
  mCircuit: ArrayLike<number>,
  mEmpty: ArrayLike<number>,
  mFull: ArrayLike<number>,
): Float64Array => {
  const n = mCircuit.length;
  if (mEmpty.length !== n || mFull.length !== n)
    throw new RangeError(
      `faithfulnessPerExample: lengths differ (circuit ${n}, empty ${mEmpty.length}, full ${mFull.length})`,
    );
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = faithfulness(mCircuit[i]!, mEmpty[i]!, mFull[i]!);
  return out;
};
