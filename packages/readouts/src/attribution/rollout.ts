/**
 * Attention rollout (Abnar & Zuidema 2020). The residual connection is modelled by mixing each
 * layer's head-averaged attention with the identity, rows renormalised, and the per-layer maps
 * are composed from the input upwards:
 *
 *   Â_l = rownorm((1 − ρ)·mean_h A_{l,h} + ρ·I)      ρ = residualWeight (½ in the paper)
 *   rollout_l = Â_l · Â_{l−1} ⋯ Â_0                   [P, P]: row q = how much query q at layer l
 *                                                        draws, through every path, on input token k
 *
 * Each Â_l is row-stochastic (patterns rows sum to 1 over the causal keys), so every rollout_l is
 * too. Plain arrays in, plain arrays out.
 */

/**
 * patterns [L][H][P][P] → rollout_l [L][P][P] (the last entry is the full rollout).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { attentionRollout } from "@patchbay/readouts";
 *
 * const uniform = [[[[1, 0], [0.5, 0.5]]]]; // 1 layer, 1 head, 2 positions
 * const r = attentionRollout(uniform, 0);
 * assert.deepEqual(r[0], [[1, 0], [0.5, 0.5]]);
 * ```
 */
export const attentionRollout = (patterns: readonly number[][][][], residualWeight = 0.5): number[][][] => {
  const out: number[][][] = [];
  let acc: number[][] | null = null;
  for (const layer of patterns) {
    const H = layer.length;
    const P = layer[0]?.length ?? 0;
    // Â [P, P]
    const A: number[][] = Array.from({ length: P }, (_, q) => {
      const row = Array.from(
        { length: P },
        (_, k) =>
          ((1 - residualWeight) * layer.reduce((s, head) => s + head[q]![k]!, 0)) / H +
          (q === k ? residualWeight : 0),
      );
      const z = row.reduce((s, x) => s + x, 0);
      return row.map((x) => x / z);
    });
    // rollout_l = Â_l · rollout_{l−1}
    const prev: number[][] | null = acc;
    acc =
      prev === null
        ? A
        : A.map((row) =>
            Array.from({ length: P }, (_, k) => row.reduce((s, a, m) => s + a * prev[m]![k]!, 0)),
          );
    out.push(acc);
  }
  return out;
};
