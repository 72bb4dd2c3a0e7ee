import type { EdgeLayout } from "@patchbay/core/edges";
import type { Circuit, Scores } from "../graph/circuit.ts";
import { rankKeys, rankOrder, type SelectOptions } from "./rank.ts";

/**
 * The n best edges by rank key (|s| or s), ties broken by lower edge index. Exactly n edges.
 *
 * Returns a Circuit.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { edgeNames, topN } from "@patchbay/circuits";
 * import { edgeLayout } from "@patchbay/core/edges";
 * import { inductionModel } from "@patchbay/zoo";
 *
 * const layout = edgeLayout(inductionModel().config);
 * const scores = Float64Array.from(layout.edges, (e) => (e.name === "a1.h2->logits" ? -3 : 0));
 * assert.deepEqual(edgeNames(topN(layout, scores, 1, { absolute: true })), ["a1.h2->logits"]);
 * ```
 */
export const topN = (layout: EdgeLayout, scores: Scores, n: number, opts: SelectOptions): Circuit => {
  const total = layout.edges.length;
  if (!Number.isInteger(n) || n < 0 || n > total)
    throw new RangeError(`topN: n must be an integer in [0, ${total}], got ${n}`);
  const order = rankOrder(rankKeys(layout, scores, opts));
  const inGraph = new Uint8Array(total);
  for (let i = 0; i < n; i++) inGraph[order[i]!] = 1;
  return { layout, inGraph, scores };
};

export interface FractionOptions extends SelectOptions {
  /**
   * How fraction·#edges becomes a count: "round" (default) to nearest, or "floor", which is
   * MIB's `int(pct * n_edges)` (MIB_circuit_track/evaluation.py).
   */
  readonly rounding?: "round" | "floor";
}

/**
 * Edge count for a fraction in [0, 1]: round (or floor) of fraction·total, at least 1 when fraction > 0.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { edgesAtFraction } from "@patchbay/circuits";
 *
 * assert.equal(edgesAtFraction(81, 0.1), 8);
 * assert.equal(edgesAtFraction(81, 0.001), 1); // at least one edge for a positive fraction
 * assert.equal(edgesAtFraction(81, 0), 0);
 * ```
 */
export const edgesAtFraction = (
  total: number,
  fraction: number,
  rounding: "round" | "floor" = "round",
): number => {
  if (!(fraction >= 0 && fraction <= 1)) throw new RangeError(`fraction must lie in [0, 1], got ${fraction}`);
  const n = rounding === "floor" ? Math.floor(fraction * total) : Math.round(fraction * total);
  return fraction > 0 && total > 0 ? Math.max(1, n) : n;
};

/**
 * topN with n = edgesAtFraction(#edges, fraction).
 *
 * Returns a Circuit.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { circuitAtFraction, edgeCount } from "@patchbay/circuits";
 * import { edgeLayout } from "@patchbay/core/edges";
 * import { inductionModel } from "@patchbay/zoo";
 *
 * const layout = edgeLayout(inductionModel().config); // 81 edges
 * const scores = Float64Array.from(layout.edges, (_, i) => i);
 * assert.equal(edgeCount(circuitAtFraction(layout, scores, 0.1, { absolute: true }).inGraph), 8);
 * ```
 */
export const circuitAtFraction = (
  layout: EdgeLayout,
  scores: Scores,
  fraction: number,
  opts: FractionOptions,
): Circuit => topN(layout, scores, edgesAtFraction(layout.edges.length, fraction, opts.rounding), opts);
