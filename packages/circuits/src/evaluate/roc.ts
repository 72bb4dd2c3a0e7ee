import { averageRanks } from "./ranks.ts";

/**
 * ROC AUC of scores against a ground-truth edge set (docs/methods.md#roc-auc): the probability that a
 * random true edge outscores a random false one, ties counting ½ — the Mann–Whitney U over
 * n₊·n₋. With R₊ the sum of the true edges' average ranks, U = R₊ − n₊(n₊+1)/2.
 * Rank by |score| by passing absolute values. NaN when either class is empty.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rocAuc } from "@patchbay/circuits";
 *
 * assert.equal(rocAuc([0.9, 0.8, 0.1, 0.2], Uint8Array.of(1, 1, 0, 0)), 1); // true edges outscore the rest
 * assert.equal(rocAuc([1, 1, 1, 1], new Set([0])), 0.5); // ties count ½
 * ```
 */
export const rocAuc = (scores: ArrayLike<number>, truth: ReadonlySet<number> | Uint8Array): number => {
  const n = scores.length;
  if (truth instanceof Uint8Array && truth.length !== n)
    throw new RangeError(`rocAuc: truth mask has ${truth.length} entries for ${n} scores`);
  const isTrue = (i: number) => (truth instanceof Uint8Array ? truth[i] === 1 : truth.has(i));
  if (!(truth instanceof Uint8Array))
    for (const i of truth)
      if (!Number.isInteger(i) || i < 0 || i >= n)
        throw new RangeError(`rocAuc: truth index ${i} outside [0, ${n})`);
  const ranks = averageRanks(scores);
  let nPos = 0;
  let rankSum = 0;
  for (let i = 0; i < n; i++)
    if (isTrue(i)) {
      nPos++;
      rankSum += ranks[i]!;
    }
  const nNeg = n - nPos;
  if (nPos === 0 || nNeg === 0) return Number.NaN;
  return (rankSum - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
};
