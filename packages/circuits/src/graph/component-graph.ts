import type { EdgeDestination, EdgeLayout } from "@patchbay/core/edges";
import { MultiDirectedGraph } from "graphology";
import type { Scores } from "./circuit.ts";
import { type ComponentKind, topology } from "./topology.ts";

/**
 * The layout as a graphology multigraph (docs/methods.md#the-component-graph).
 *
 * Nodes: input, a{l}.h{h} (or a{l} at layer granularity), m{l}, logits, and under grouped-query
 * attention the key/value nodes a{l}.kv{j}. Edges: one per layout edge, keyed by the edge name
 * (`a0.h1->a3.h2<k>`), from the source node to the destination's `node`; a head therefore has
 * up to three parallel edges from one writer (<q>, <k>, <v>), hence a multigraph.
 *
 * Choice for GQA: a kv node is a node of its own (kind "kv") that receives the <k>/<v> edges of
 * its group and has no out-edges here, since the layout has no edge for the kv → query-head step
 * (it is inside the attention block, not through the residual stream). The query heads it feeds
 * (⌊h/G⌋ = j) are listed in its `feeds` attribute; `reachability` in ./topology.ts passes
 * through it. Without grouping, <k>/<v> edges go straight into a{l}.h{h}, as in EAP-IG/MIB.
 */
export interface ComponentNodeAttributes {
  readonly kind: ComponentKind;
  readonly layer: number | null;
  /** Query head (heads), key/value head (kv nodes), or null. */
  readonly head: number | null;
  /** kv nodes only: the query heads this key/value head feeds. */
  readonly feeds?: readonly string[];
}

export interface ComponentEdgeAttributes {
  /** Layout edge index. */
  readonly index: number;
  /** The destination kind: "q" | "k" | "v" | "attn" | "mlp" | "logits". */
  readonly kind: EdgeDestination["kind"];
  /** Destination name, e.g. "a3.h2<k>". */
  readonly destination: string;
  readonly score?: number;
  readonly inGraph?: boolean;
}

export type ComponentGraph = MultiDirectedGraph<ComponentNodeAttributes, ComponentEdgeAttributes>;

export interface ComponentGraphOptions {
  /** Attach `score` to every edge. */
  readonly scores?: Scores;
  /** Attach `inGraph` to every edge. */
  readonly inGraph?: Uint8Array;
  /** Keep only the in-graph edges (and the nodes they touch, plus input and logits). */
  readonly onlyInGraph?: boolean;
}

/**
 * Returns a graphology MultiDirectedGraph: `order` nodes, `size` edges.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { componentGraph } from "@patchbay/circuits";
 * import { edgeLayout } from "@patchbay/core/edges";
 * import { inductionModel } from "@patchbay/zoo";
 *
 * const g = componentGraph(edgeLayout(inductionModel().config)); // 2 layers × 4 heads, no MLPs
 * assert.equal(g.order, 10); // input, 8 heads, logits
 * assert.equal(g.size, 81);
 * assert.ok(g.hasEdge("a0.h1->a1.h2<k>"));
 * ```
 */
export const componentGraph = (layout: EdgeLayout, opts: ComponentGraphOptions = {}): ComponentGraph => {
  const t = topology(layout);
  const g: ComponentGraph = new MultiDirectedGraph<ComponentNodeAttributes, ComponentEdgeAttributes>();
  const { scores, inGraph, onlyInGraph = false } = opts;
  if (scores && scores.length !== layout.edges.length)
    throw new RangeError(`componentGraph: ${scores.length} scores for ${layout.edges.length} edges`);
  if (inGraph && inGraph.length !== layout.edges.length)
    throw new RangeError(
      `componentGraph: inGraph has ${inGraph.length} entries for ${layout.edges.length} edges`,
    );
  if (onlyInGraph && !inGraph) throw new TypeError("componentGraph: onlyInGraph needs inGraph");

  const keep = (e: number) => !onlyInGraph || inGraph![e] === 1;
  const used = new Set<number>([t.logits, 0]);
  if (onlyInGraph)
    for (const e of layout.edges)
      if (keep(e.index)) {
        used.add(e.source);
        used.add(t.destComponent[e.destination]!);
      }
  for (const c of t.order) {
    if (onlyInGraph && !used.has(c)) continue;
    const comp = t.components[c]!;
    const attrs: ComponentNodeAttributes =
      comp.kind === "kv"
        ? {
            kind: comp.kind,
            layer: comp.layer,
            head: comp.head,
            feeds: t.passesTo[c]!.map((h) => t.components[h]!.name),
          }
        : { kind: comp.kind, layer: comp.layer, head: comp.head };
    g.addNode(comp.name, attrs);
  }
  for (const e of layout.edges) {
    if (!keep(e.index)) continue;
    const d = layout.destinations[e.destination]!;
    const attrs: ComponentEdgeAttributes = {
      index: e.index,
      kind: d.kind,
      destination: d.name,
      ...(scores ? { score: scores[e.index]! } : {}),
      ...(inGraph ? { inGraph: inGraph[e.index] === 1 } : {}),
    };
    g.addDirectedEdgeWithKey(e.name, layout.sources[e.source]!.name, d.node, attrs);
  }
  return g;
};
