import type { EdgeLayout } from "@patchbay/core/edges";
import { checkInGraph } from "../graph/circuit.ts";
import { reachability, topology } from "../graph/topology.ts";

/**
 * Keep an in-graph edge u→v iff it lies on a path input → … → logits through in-graph edges:
 * u is reached from the input and v's component reaches the logits (see ../graph/topology.ts
 * for how a head is reached through its <q>, <k>, <v> destinations and through its group's kv
 * node under GQA). The result is a subset of the input and prune is idempotent: every edge of a
 * kept edge's witnessing path is kept too.
 *
 * The same fixed point as EAP-IG's Graph.prune, which repeatedly drops nodes lacking an in-edge
 * (input excepted) or an out-edge (logits excepted) and then the edges of dropped nodes: in a DAG
 * a kept edge can then be walked back to the input and on to the logits. Here it takes one pass
 * in topological order each way instead of iterating.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { edgeIndices, prune } from "@patchbay/circuits";
 * import { edgeLayout } from "@patchbay/core/edges";
 * import { inductionModel } from "@patchbay/zoo";
 *
 * const layout = edgeLayout(inductionModel().config);
 * const inGraph = new Uint8Array(layout.edges.length);
 * const index = (name: string) => layout.edges.findIndex((e) => e.name === name);
 * inGraph[index("input->a1.h2<v>")] = 1;
 * inGraph[index("a1.h2->logits")] = 1;
 * inGraph[index("input->a0.h0<q>")] = 1; // a0.h0 writes nowhere: a dangling edge
 * assert.deepEqual(edgeIndices(prune(layout, inGraph)), [index("input->a1.h2<v>"), index("a1.h2->logits")].sort((a, b) => a - b));
 * ```
 */
export const prune = (layout: EdgeLayout, inGraph: Uint8Array): Uint8Array => {
  checkInGraph(layout, inGraph);
  const t = topology(layout);
  const { fromInput, toLogits } = reachability(t, inGraph);
  const out = new Uint8Array(inGraph.length);
  for (let e = 0; e < inGraph.length; e++) {
    if (!inGraph[e]) continue;
    const edge = layout.edges[e]!;
    out[e] = fromInput[edge.source] && toLogits[t.destComponent[edge.destination]!] ? 1 : 0;
  }
  return out;
};
