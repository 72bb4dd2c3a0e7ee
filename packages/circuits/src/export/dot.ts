import type { Circuit } from "../graph/circuit.ts";
import { topology, touchedComponents } from "../graph/topology.ts";
import { edgeColor, num, type WidthRange, widthScale } from "./style.ts";

export interface DrawOptions {
  /** Draw every component, not only those an in-graph edge touches (input and logits always). */
  readonly allNodes?: boolean;
  /** Stroke / pen width range, default 0.6 … 5 (EAP-IG's to_graphviz). */
  readonly width?: WidthRange;
}

const quote = (s: string): string => `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;

/**
 * Graphviz DOT of a circuit: bottom-to-top (input at the bottom, logits on top), components of
 * a layer on one rank, one edge per in-graph layout edge with its name as tooltip, colour by
 * q/k/v (else by score sign) and pen width by |score|. Under GQA the kv nodes are drawn with
 * dashed links to the query heads they feed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { toDot, topN } from "@patchbay/circuits";
 * import { edgeLayout } from "@patchbay/core/edges";
 * import { inductionModel } from "@patchbay/zoo";
 *
 * const layout = edgeLayout(inductionModel().config);
 * const scores = Float64Array.from(layout.edges, (_, i) => i);
 * const dot = toDot(topN(layout, scores, 3, { absolute: true }));
 * assert.match(dot, /^digraph circuit \{/);
 * assert.match(dot, /"a1.h2"/);
 * ```
 */
export const toDot = (circuit: Circuit, opts: DrawOptions = {}): string => {
  const { layout, inGraph } = circuit;
  const t = topology(layout);
  const shown = opts.allNodes ? new Uint8Array(t.components.length).fill(1) : touchedComponents(t, inGraph);
  const width = widthScale(circuit, opts.width ?? { min: 0.6, max: 5 });
  const lines = [
    "digraph circuit {",
    "  rankdir=BT;",
    '  node [shape=box, style="filled,rounded", fillcolor="#f4f4f4", fontname="Helvetica"];',
  ];
  const ranks = new Map<string, string[]>();
  for (const c of t.order) {
    if (!shown[c]) continue;
    const comp = t.components[c]!;
    const shape = comp.kind === "kv" ? ', shape=ellipse, fillcolor="#e8f3ec"' : "";
    lines.push(`  ${quote(comp.name)} [kind=${comp.kind}${shape}];`);
    const rank = comp.kind === "mlp" ? `m${comp.layer}` : comp.layer === null ? comp.kind : `a${comp.layer}`;
    ranks.set(rank, [...(ranks.get(rank) ?? []), quote(comp.name)]);
  }
  for (const members of ranks.values())
    if (members.length > 1) lines.push(`  { rank=same; ${members.join("; ")}; }`);
  for (const e of layout.edges) {
    if (!inGraph[e.index]) continue;
    const d = layout.destinations[e.destination]!;
    const score = circuit.scores ? circuit.scores[e.index]! : 0;
    const label = circuit.scores ? `${e.name} (${score})` : e.name;
    lines.push(
      `  ${quote(layout.sources[e.source]!.name)} -> ${quote(d.node)} [color=${quote(edgeColor(d.kind, score))}, ` +
        `penwidth=${num(width(e.index))}, tooltip=${quote(label)}];`,
    );
  }
  for (const c of t.order)
    if (shown[c])
      for (const h of t.passesTo[c]!)
        if (shown[h])
          lines.push(
            `  ${quote(t.components[c]!.name)} -> ${quote(t.components[h]!.name)} [style=dashed, arrowhead=none];`,
          );
  lines.push("}");
  return `${lines.join("\n")}\n`;
};
