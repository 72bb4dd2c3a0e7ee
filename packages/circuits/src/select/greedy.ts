import type { EdgeLayout } from "@patchbay/core/edges";
import type { Circuit, Scores } from "../graph/circuit.ts";
import { topology } from "../graph/topology.ts";
import { before, rankKeys, type SelectOptions } from "./rank.ts";

/**
 * Greedy from the logits (docs/methods.md#selecting-a-circuit; EAP-IG's apply_greedy): the circuit starts as
 * the component set {logits}; n times, add the best-ranked edge whose destination's component is
 * already in the circuit, and let its source join. When a query head joins, its group's kv node
 * joins with it (the kv node is the head's k/v input), so the kv's <k>/<v> edges become
 * candidates. Ties go to the lower edge index. Every chosen edge is connected to the logits;
 * it need not be connected to the input (prune afterwards).
 *
 * A binary heap of candidates keyed by rank: O(E log E).
 *
 * Returns a Circuit with n edges (fewer when no more edge attaches).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { edgeCount, edgeNames, greedy } from "@patchbay/circuits";
 * import { edgeLayout } from "@patchbay/core/edges";
 * import { inductionModel } from "@patchbay/zoo";
 *
 * const layout = edgeLayout(inductionModel().config);
 * const scores = Float64Array.from(layout.edges, (e) => (e.name === "a1.h2->logits" ? 5 : e.name === "input->a0.h0<q>" ? 9 : 0.1));
 * const c = greedy(layout, scores, 1, { absolute: true });
 * assert.equal(edgeCount(c.inGraph), 1);
 * // input->a0.h0<q> scores higher but does not attach to {logits}; a1.h2->logits does
 * assert.deepEqual(edgeNames(c), ["a1.h2->logits"]);
 * ```
 */
export const greedy = (layout: EdgeLayout, scores: Scores, n: number, opts: SelectOptions): Circuit => {
  const total = layout.edges.length;
  if (!Number.isInteger(n) || n < 0 || n > total)
    throw new RangeError(`greedy: n must be an integer in [0, ${total}], got ${n}`);
  const key = rankKeys(layout, scores, opts);
  const t = topology(layout);
  const inGraph = new Uint8Array(total);
  const joined = new Uint8Array(t.components.length);

  const heap: number[] = [];
  const push = (e: number) => {
    let i = heap.length;
    heap.push(e);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(key, e, heap[p]!)) break;
      heap[i] = heap[p]!;
      i = p;
    }
    heap[i] = e;
  };
  const pop = (): number => {
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= heap.length) break;
        const r = l + 1;
        const c = r < heap.length && before(key, heap[r]!, heap[l]!) ? r : l;
        if (!before(key, heap[c]!, last)) break;
        heap[i] = heap[c]!;
        i = c;
      }
      heap[i] = last;
    }
    return top;
  };
  const join = (c: number) => {
    if (joined[c]) return;
    joined[c] = 1;
    for (const d of t.intoComponent[c]!)
      for (let i = t.destStart[d]!; i < t.destStart[d + 1]!; i++) push(t.destEdges[i]!);
    for (const kv of t.passesFrom[c]!) join(kv);
  };

  join(t.logits);
  for (let k = 0; k < n; k++) {
    const e = pop(); // never empty: every edge becomes a candidate once all sources join
    inGraph[e] = 1;
    join(layout.edges[e]!.source);
  }
  return { layout, inGraph, scores };
};
