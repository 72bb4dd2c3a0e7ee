import type { EdgeLayout } from "@patchbay/core/edges";
import type { Circuit, Scores } from "../graph/circuit.ts";
import { rankKeys, rankOrder, type SelectOptions } from "./rank.ts";

/** The n best edges by rank key (|s| or s), ties broken by lower edge index. Exactly n edges. */
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

/** Edge count for a fraction in [0, 1]: round (or floor) of fraction·total, at least 1 when fraction > 0. */
export const edgesAtFraction = (
  total: number,
  fraction: number,
  rounding: "round" | "floor" = "round",
): number => {
  if (!(fraction >= 0 && fraction <= 1)) throw new RangeError(`fraction must lie in [0, 1], got ${fraction}`);
  const n = rounding === "floor" ? Math.floor(fraction * total) : Math.round(fraction * total);
  return fraction > 0 && total > 0 ? Math.max(1, n) : n;
};

/** topN with n = edgesAtFraction(#edges, fraction). */
export const circuitAtFraction = (
  layout: EdgeLayout,
  scores: Scores,
  fraction: number,
  opts: FractionOptions,
): Circuit => topN(layout, scores, edgesAtFraction(layout.edges.length, fraction, opts.rounding), opts);
