/**
 * Ranks 1..n with ties given their average rank (the "fractional" ranking Spearman and
 * Mann–Whitney use): a run of t equal values at sorted positions p..p+t−1 all get p + (t+1)/2 − 1
 * in 1-based terms. NaN is rejected.
 *
 * Returns a Float64Array of ranks.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { averageRanks } from "@patchbay/circuits";
 *
 * assert.deepEqual([...averageRanks([10, 20, 20, 5])], [2, 3.5, 3.5, 1]);
 * ```
 */
export const averageRanks = (values: ArrayLike<number>): Float64Array => {
  const n = values.length;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(values[i]!)) throw new RangeError(`averageRanks: value ${i} is NaN`);
    order[i] = i;
  }
  order.sort((a, b) => (values[a]! < values[b]! ? -1 : values[a]! > values[b]! ? 1 : a - b));
  const ranks = new Float64Array(n);
  for (let i = 0; i < n; ) {
    let j = i + 1;
    while (j < n && values[order[j]!] === values[order[i]!]) j++;
    const r = (i + 1 + j) / 2; // mean of ranks i+1 … j
    for (let k = i; k < j; k++) ranks[order[k]!] = r;
    i = j;
  }
  return ranks;
};
