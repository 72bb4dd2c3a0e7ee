import type { EdgeLayout } from "@patchbay/core/edges";
import type { Circuit, Scores } from "../graph/circuit.ts";
import { rankKeys, type SelectOptions } from "./rank.ts";

/**
 * Every edge with key ≥ τ (key = |s| or s), as EAP-IG's apply_threshold. NaN scores never pass.
 *
 * Returns a Circuit.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { byThreshold, edgeCount } from "@patchbay/circuits";
 * import { edgeLayout } from "@patchbay/core/edges";
 * import { inductionModel } from "@patchbay/zoo";
 *
 * const layout = edgeLayout(inductionModel().config);
 * const scores = Float64Array.from(layout.edges, (_, i) => (i < 3 ? -1 : 0.01));
 * assert.equal(edgeCount(byThreshold(layout, scores, 0.5, { absolute: true }).inGraph), 3);
 * assert.equal(edgeCount(byThreshold(layout, scores, 0.5, { absolute: false }).inGraph), 0);
 * ```
 */
export const byThreshold = (
  layout: EdgeLayout,
  scores: Scores,
  tau: number,
  opts: SelectOptions,
): Circuit => {
  if (Number.isNaN(tau)) throw new RangeError("byThreshold: tau is NaN");
  const key = rankKeys(layout, scores, opts);
  const inGraph = new Uint8Array(key.length);
  for (let i = 0; i < key.length; i++)
    inGraph[i] = key[i]! >= tau && key[i] !== Number.NEGATIVE_INFINITY ? 1 : 0;
  return { layout, inGraph, scores };
};
