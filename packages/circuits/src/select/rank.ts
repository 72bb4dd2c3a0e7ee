import type { EdgeLayout } from "@patchbay/core/edges";
import { checkScores, type Scores } from "../graph/circuit.ts";

export interface SelectOptions {
  /** Rank by |score| (CMD, and most EAP use) rather than the signed score (CPR). */
  readonly absolute: boolean;
}

/**
 * The ranking key of each edge: |s| or s. NaN (an unscored edge) ranks below everything, so
 * it is chosen last and never passes a threshold.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rankKeys } from "@patchbay/circuits";
 * import { edgeLayout } from "@patchbay/core/edges";
 * import { inductionModel } from "@patchbay/zoo";
 *
 * const layout = edgeLayout(inductionModel().config);
 * const scores = new Float64Array(layout.edges.length).fill(-2);
 * assert.equal(rankKeys(layout, scores, { absolute: true })[0], 2);
 * assert.equal(rankKeys(layout, scores, { absolute: false })[0], -2);
 * ```
 */
export const rankKeys = (layout: EdgeLayout, scores: Scores, { absolute }: SelectOptions): Float64Array => {
  checkScores(layout, scores);
  const key = new Float64Array(scores.length);
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i]!;
    key[i] = Number.isNaN(s) ? Number.NEGATIVE_INFINITY : absolute ? Math.abs(s) : s;
  }
  return key;
};

/**
 * Edges in rank order: key descending, ties by edge index ascending (deterministic).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rankOrder } from "@patchbay/circuits";
 *
 * assert.deepEqual([...rankOrder(Float64Array.of(0.5, 2, Number.NEGATIVE_INFINITY, 2))], [1, 3, 0, 2]);
 * ```
 */
export const rankOrder = (key: Float64Array): Uint32Array => {
  const order = new Uint32Array(key.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  return order.sort((a, b) => key[b]! - key[a]! || a - b || 0);
};

/** a ranks before b. */
export const before = (key: Float64Array, a: number, b: number): boolean =>
  key[a]! > key[b]! || (key[a] === key[b] && a < b);
