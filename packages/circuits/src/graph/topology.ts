import type { EdgeLayout } from "@patchbay/core/edges";

/**
 * A layout's components (the nodes of docs/methods.md#the-component-graph) with an index for walking them.
 *
 * Component ids: [0, S) are the sources, with the source's own index (input, heads or a{l},
 * m{l}); S is logits; the key/value nodes a{l}.kv{j} of grouped-query attention follow. Every
 * destination feeds exactly one component, its `node`.
 *
 * A kv node has no output of its own in the layout: it is the shared k/v input of the query heads
 * h with ⌊h/G⌋ = j (G = nHeads/nKvHeads). Reachability passes through it: a head is reached from
 * the input through its <q> destination or through its group's kv node, and a kv node reaches
 * the logits when one of its heads does. `passesTo[kv]` lists those heads, `passesFrom[head]` the
 * kv node.
 */
export type ComponentKind = "input" | "head" | "attn" | "mlp" | "kv" | "logits";

export interface Component {
  readonly id: number;
  readonly name: string;
  readonly kind: ComponentKind;
  readonly layer: number | null;
  /** Query head for heads, key/value head for kv nodes, null otherwise. */
  readonly head: number | null;
}

export interface Topology {
  readonly layout: EdgeLayout;
  readonly components: readonly Component[];
  readonly byName: ReadonlyMap<string, number>;
  readonly logits: number;
  /** Destination index → the component it feeds. */
  readonly destComponent: Int32Array;
  /** Component id → destinations that feed it directly. */
  readonly intoComponent: readonly (readonly number[])[];
  /** kv node → the query heads it feeds; empty for every other component. */
  readonly passesTo: readonly (readonly number[])[];
  /** Query head → its kv node (grouped attention only); empty otherwise. */
  readonly passesFrom: readonly (readonly number[])[];
  /** Edges into destination d: edgeIds[destStart[d] .. destStart[d+1]). */
  readonly destStart: Int32Array;
  readonly destEdges: Int32Array;
  /** Edges out of source s: sourceEdges[sourceStart[s] .. sourceStart[s+1]). */
  readonly sourceStart: Int32Array;
  readonly sourceEdges: Int32Array;
  /** Components in a topological order (every writer before every reader). */
  readonly order: Int32Array;
}

const cache = new WeakMap<EdgeLayout, Topology>();

/** Compressed rows: for each key in [0, n), the items with that key, in item order. */
const csr = (n: number, keys: ArrayLike<number>): { start: Int32Array; items: Int32Array } => {
  const start = new Int32Array(n + 1);
  for (let i = 0; i < keys.length; i++) start[keys[i]! + 1]!++;
  for (let k = 0; k < n; k++) start[k + 1]! += start[k]!;
  const fill = start.slice(0, n);
  const items = new Int32Array(keys.length);
  for (let i = 0; i < keys.length; i++) items[fill[keys[i]!]!++] = i;
  return { start, items };
};

/**
 * Returns the components in topological order with their in- and out-edges (`order`, `byName`, …).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { topology } from "@patchbay/circuits";
 * import { edgeLayout } from "@patchbay/core/edges";
 * import { inductionModel } from "@patchbay/zoo";
 *
 * const t = topology(edgeLayout(inductionModel().config));
 * assert.equal(t.layout.edges.length, 81);
 * assert.ok(t.byName.has("a1.h2"));
 * ```
 */
export const topology = (layout: EdgeLayout): Topology => {
  const hit = cache.get(layout);
  if (hit) return hit;
  const components: Component[] = layout.sources.map((s) => ({
    id: s.index,
    name: s.name,
    kind: s.kind,
    layer: s.layer,
    head: s.head,
  }));
  const byName = new Map<string, number>(components.map((c) => [c.name, c.id]));
  const logits = components.length;
  components.push({ id: logits, name: "logits", kind: "logits", layer: null, head: null });
  byName.set("logits", logits);

  const destComponent = new Int32Array(layout.destinations.length);
  for (const d of layout.destinations) {
    let id = byName.get(d.node);
    if (id === undefined) {
      if (d.kind !== "k" && d.kind !== "v")
        throw new Error(
          `layout: destination ${d.name} feeds ${d.node}, which is neither a source nor a kv node`,
        );
      id = components.length;
      components.push({ id, name: d.node, kind: "kv", layer: d.layer, head: d.head });
      byName.set(d.node, id);
    }
    destComponent[d.index] = id;
  }

  const n = components.length;
  const intoComponent: number[][] = Array.from({ length: n }, () => []);
  for (const d of layout.destinations) intoComponent[destComponent[d.index]!]!.push(d.index);

  // kv node a{l}.kv{j} feeds query heads h of layer l with ⌊h/G⌋ = j.
  const passesTo: number[][] = Array.from({ length: n }, () => []);
  const passesFrom: number[][] = Array.from({ length: n }, () => []);
  const kvs = components.filter((c) => c.kind === "kv");
  if (kvs.length > 0) {
    const headsOf = (l: number) => components.filter((c) => c.kind === "head" && c.layer === l);
    for (const kv of kvs) {
      const heads = headsOf(kv.layer!);
      const nKv = kvs.filter((k) => k.layer === kv.layer).length;
      const g = heads.length / nKv;
      for (const h of heads)
        if (Math.floor(h.head! / g) === kv.head) {
          passesTo[kv.id]!.push(h.id);
          passesFrom[h.id]!.push(kv.id);
        }
    }
  }

  const dest = csr(
    layout.destinations.length,
    layout.edges.map((e) => e.destination),
  );
  const src = csr(
    layout.sources.length,
    layout.edges.map((e) => e.source),
  );

  // Topological order: input; per layer kv nodes, then heads (or a{l}), then m{l}; logits.
  const rank = (c: Component): number => {
    if (c.kind === "input") return -1;
    if (c.kind === "logits") return Number.POSITIVE_INFINITY;
    const within = c.kind === "kv" ? 0 : c.kind === "mlp" ? 2 : 1;
    return c.layer! * 3 + within;
  };
  const order = Int32Array.from(
    components
      .slice()
      .sort((a, b) => rank(a) - rank(b) || a.id - b.id)
      .map((c) => c.id),
  );

  const t: Topology = {
    layout,
    components,
    byName,
    logits,
    destComponent,
    intoComponent,
    passesTo,
    passesFrom,
    destStart: dest.start,
    destEdges: dest.items,
    sourceStart: src.start,
    sourceEdges: src.items,
    order,
  };
  cache.set(layout, t);
  return t;
};

/**
 * Which components are reached from the input, and which reach the logits, through in-graph
 * edges (and kv pass-throughs). One pass in topological order each way: O(edges).
 *
 * Returns one byte per component (`t.components`) in each of `fromInput` and `toLogits`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { reachability, topology } from "@patchbay/circuits";
 * import { edgeLayout } from "@patchbay/core/edges";
 * import { inductionModel } from "@patchbay/zoo";
 *
 * const layout = edgeLayout(inductionModel().config);
 * const t = topology(layout);
 * const only = new Uint8Array(layout.edges.length);
 * only[layout.edges.findIndex((e) => e.name === "input->a1.h2<v>")] = 1;
 * const { fromInput, toLogits } = reachability(t, only);
 * const h = t.byName.get("a1.h2")!;
 * assert.equal(fromInput[h], 1); // the input reaches a1.h2 …
 * assert.equal(toLogits[h], 0); // … but nothing carries it on to the logits
 * ```
 */
export const reachability = (
  t: Topology,
  inGraph: Uint8Array,
): { fromInput: Uint8Array; toLogits: Uint8Array } => {
  const { layout } = t;
  const n = t.components.length;
  const fromInput = new Uint8Array(n);
  const toLogits = new Uint8Array(n);
  for (const c of t.order) {
    if (t.components[c]!.kind === "input") {
      fromInput[c] = 1;
      continue;
    }
    let r = 0;
    for (const k of t.passesFrom[c]!) if (fromInput[k]) r = 1;
    for (const d of t.intoComponent[c]!) {
      if (r) break;
      for (let i = t.destStart[d]!; i < t.destStart[d + 1]!; i++) {
        const e = t.destEdges[i]!;
        if (inGraph[e] && fromInput[layout.edges[e]!.source]) {
          r = 1;
          break;
        }
      }
    }
    fromInput[c] = r;
  }
  for (let o = n - 1; o >= 0; o--) {
    const c = t.order[o]!;
    if (c === t.logits) {
      toLogits[c] = 1;
      continue;
    }
    let r = 0;
    for (const h of t.passesTo[c]!) if (toLogits[h]) r = 1;
    if (!r && c < layout.sources.length)
      for (let i = t.sourceStart[c]!; i < t.sourceStart[c + 1]!; i++) {
        const e = t.sourceEdges[i]!;
        if (inGraph[e] && toLogits[t.destComponent[layout.edges[e]!.destination]!]) {
          r = 1;
          break;
        }
      }
    toLogits[c] = r;
  }
  return { fromInput, toLogits };
};

/**
 * Components that an in-graph edge leaves or enters (logits and input always included).
 *
 * Returns one byte per component (`t.components`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { topology, touchedComponents } from "@patchbay/circuits";
 * import { edgeLayout } from "@patchbay/core/edges";
 * import { inductionModel } from "@patchbay/zoo";
 *
 * const layout = edgeLayout(inductionModel().config);
 * const t = topology(layout);
 * const one = new Uint8Array(layout.edges.length);
 * one[layout.edges.findIndex((e) => e.name === "a1.h2->logits")] = 1;
 * const touched = touchedComponents(t, one);
 * assert.equal(touched[t.byName.get("a1.h2")!], 1);
 * assert.equal(touched[t.byName.get("a0.h0")!], 0);
 * ```
 */
export const touchedComponents = (t: Topology, inGraph: Uint8Array): Uint8Array => {
  const out = new Uint8Array(t.components.length);
  out[t.logits] = 1;
  out[t.byName.get("input")!] = 1;
  for (let e = 0; e < inGraph.length; e++)
    if (inGraph[e]) {
      const edge = t.layout.edges[e]!;
      out[edge.source] = 1;
      out[t.destComponent[edge.destination]!] = 1;
    }
  return out;
};
