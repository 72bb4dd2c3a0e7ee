import type { EdgeLayout } from "@patchbay/core/edges";
import type { Circuit, Scores } from "../graph/circuit.ts";
import { rankKeys, type SelectOptions } from "./rank.ts";

/** Every edge with key ≥ τ (key = |s| or s), as EAP-IG's apply_threshold. NaN scores never pass. */
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
