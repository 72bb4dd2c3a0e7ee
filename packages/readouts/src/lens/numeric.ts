/**
 * Plain numeric helpers over logits rows (float32 in, float64 arithmetic).
 */

/**
 * log softmax of row [V]: x − max − log Σ exp(x − max), in float64.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { logSoftmax } from "@patchbay/readouts";
 *
 * const l = logSoftmax([0, 0]);
 * assert.ok(Math.abs(l[0]! - Math.log(0.5)) < 1e-12);
 * ```
 */
export const logSoftmax = (row: ArrayLike<number>): Float64Array => {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < row.length; i++) if (row[i]! > max) max = row[i]!;
  let s = 0;
  for (let i = 0; i < row.length; i++) s += Math.exp(row[i]! - max);
  const lse = max + Math.log(s);
  const out = new Float64Array(row.length);
  for (let i = 0; i < row.length; i++) out[i] = row[i]! - lse;
  return out;
};

/**
 * KL(p ‖ q) = Σ_v p_v (log p_v − log q_v) for two logits rows.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { klLogits } from "@patchbay/readouts";
 *
 * assert.equal(klLogits([1, 2, 3], [1, 2, 3]), 0);
 * assert.ok(klLogits([5, 0], [0, 5]) > 4);
 * ```
 */
export const klLogits = (p: ArrayLike<number>, q: ArrayLike<number>): number => {
  const lp = logSoftmax(p);
  const lq = logSoftmax(q);
  let kl = 0;
  for (let i = 0; i < lp.length; i++) kl += Math.exp(lp[i]!) * (lp[i]! - lq[i]!);
  return kl;
};

/**
 * Indices of the k largest values, largest first (ties: lower index first).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { topK } from "@patchbay/readouts";
 *
 * assert.deepEqual(topK([0.1, 0.7, 0.2, 0.7], 3), [1, 3, 2]);
 * ```
 */
export const topK = (row: ArrayLike<number>, k: number): number[] => {
  const idx = Array.from({ length: row.length }, (_, i) => i);
  idx.sort((a, b) => row[b]! - row[a]! || a - b);
  return idx.slice(0, Math.min(k, row.length));
};

/** Row (b, p) of a [B, P, V] tensor. */
export const rowOf = (data: Float32Array, P: number, V: number, b: number, p: number): Float32Array =>
  data.subarray((b * P + p) * V, (b * P + p + 1) * V);

/** Mean over prompts of the mean over each prompt's positions of f(b, p). */
export const meanOverPrompts = (lengths: readonly number[], f: (b: number, p: number) => number): number => {
  let total = 0;
  lengths.forEach((n, b) => {
    let s = 0;
    for (let p = 0; p < n; p++) s += f(b, p);
    total += s / n;
  });
  return total / lengths.length;
};
