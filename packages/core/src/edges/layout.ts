import type { ModelConfig } from "../model/index.ts";

/**
 * The component graph as data (docs/methods.md#the-component-graph): which nodes write the residual stream
 * (sources), which read it (destinations), and the edges between them. The engine compiles edge
 * masks against this layout; `@patchbay/circuits` turns it into a graphology graph.
 *
 * Head granularity (EAP-IG / MIB names):
 *   sources       input (embed + pos_embed), a{l}.h{h} (its attn.result), m{l} (its mlp_out)
 *   destinations  a{l}.h{h}<q>, a{l}.h{h}<k>, a{l}.h{h}<v>, m{l} (its mlp_in), logits (the final stream)
 * Layer granularity: sources input, a{l} (attn_out), m{l}; destinations a{l} (the stream every
 * head of layer l reads, for q, k and v alike), m{l}, logits.
 *
 * Sources are ordered so that the sources upstream of any destination are a prefix
 * [0, nSources): input, then per layer its heads (or a{l}) and then m{l}.
 *   serial block:    a{l}.*<q|k|v> read sources of layers < l; m{l} also reads a{l}.*
 *   parallel block:  m{l} reads only layers < l (GPT-NeoX use_parallel_residual: attention and MLP
 *                    both read resid_pre)
 * Grouped-query attention: every query head has its own <q> destination. At `head` granularity
 * the heads that share a key/value head share its <k> and <v> destinations, named
 * a{l}.kv{j}<k> / a{l}.kv{j}<v> (the k_input/v_input slot of kv head j). At `head-qkv`
 * granularity every query head h has its own a{l}.h{h}<k> / <v> (MIB's and EAP-IG's names for
 * GQA models): the graph then computes a group's key/value projection once per query head, from
 * that head's own (patched) input, so k_input/v_input have one slot per query head. Without
 * grouping (nKvHeads = nHeads) both granularities are the same layout with the MIB names.
 * Attention-only models have no m{l}.
 */
export type Granularity = "head" | "head-qkv" | "layer";

/** The granularities, for schemas and flags. */
export const GRANULARITIES = ["head", "head-qkv", "layer"] as const satisfies readonly Granularity[];

/**
 * Key/value destinations (and k_input/v_input slots of the edge graph) per attention layer at a
 * head granularity: one per key/value head (`head`), one per query head (`head-qkv`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Edges, Weights } from "@patchbay/core";
 * import "@patchbay/zoo";
 * import { Effect } from "effect";
 *
 * const model = await Effect.runPromise(Weights.loadModel("builtin:induction"));
 * assert.equal(Edges.kvSlots(model.config, "head"), model.config.nKvHeads);
 * assert.equal(Edges.kvSlots(model.config, "head-qkv"), model.config.nHeads);
 * ```
 */
export const kvSlots = (c: ModelConfig, granularity: Granularity): number =>
  granularity === "head-qkv" ? c.nHeads : c.nKvHeads;

/** Whether the layout's graph computes key/value per query head (head-qkv under GQA). */
export const kvPerQueryHead = (c: ModelConfig, granularity: Granularity): boolean =>
  granularity === "head-qkv" && c.nKvHeads !== c.nHeads;

export interface EdgeSource {
  readonly index: number;
  /** "input", "a3.h2", "a3" (layer granularity), "m3". */
  readonly name: string;
  readonly kind: "input" | "head" | "attn" | "mlp";
  readonly layer: number | null;
  readonly head: number | null;
}

export interface EdgeDestination {
  readonly index: number;
  /** "a3.h2<q>", "a3.kv1<k>" (GQA, head granularity), "a3" (layer granularity), "m3", "logits". */
  readonly name: string;
  /** The component it feeds: "a3.h2", "a3.kv1", "a3", "m3", "logits". */
  readonly node: string;
  readonly kind: "q" | "k" | "v" | "attn" | "mlp" | "logits";
  readonly layer: number | null;
  /**
   * The head slot it reads: the query head for q (and for k, v at head-qkv granularity), the
   * key/value head for k and v at head granularity; null otherwise.
   */
  readonly head: number | null;
  /** Sources [0, nSources) write into this destination's input. */
  readonly nSources: number;
}

export interface Edge {
  readonly index: number;
  /** "a0.h1->a3.h2<k>" */
  readonly name: string;
  readonly source: number;
  readonly destination: number;
}

export interface EdgeLayout {
  readonly granularity: Granularity;
  readonly nLayers: number;
  readonly sources: readonly EdgeSource[];
  readonly destinations: readonly EdgeDestination[];
  /** Every (source, destination) pair with the source upstream: destination-major, then source. */
  readonly edges: readonly Edge[];
}

/**
 * The name of an edge, as EAP-IG and MIB spell it: `source->destination`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { edgeName } from "@patchbay/core/edges";
 *
 * assert.equal(edgeName("a0.h1", "a1.h2<k>"), "a0.h1->a1.h2<k>");
 * ```
 */
export const edgeName = (source: string, destination: string): string => `${source}->${destination}`;

/**
 * The component graph of a model as data: sources (the input, heads or attention layers, MLPs),\ndestinations (q/k/v inputs of heads, MLPs, the logits) and every edge from an upstream source,\nat a granularity (`head` by default).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Edges, Weights } from "@patchbay/core";
 * import "@patchbay/zoo";
 * import { Effect } from "effect";
 *
 * const model = await Effect.runPromise(Weights.loadModel("builtin:induction")); // 2 layers × 4 heads, no MLP
 * const layout = Edges.edgeLayout(model.config);
 * assert.equal(layout.sources.length, 9); // the input and 8 heads
 * assert.equal(layout.destinations.length, 25); // q, k, v of 8 heads and the logits
 * assert.equal(layout.edges[0]?.name, "input->a0.h0<q>");
 * assert.equal(Edges.edgeLayout(model.config, "layer").edges.length, 6);
 * ```
 */
export const edgeLayout = (c: ModelConfig, granularity: Granularity = "head"): EdgeLayout => {
  const sources: EdgeSource[] = [];
  const destinations: EdgeDestination[] = [];
  const hasMlp = c.dMlp !== null;
  const grouped = granularity === "head" && c.nKvHeads !== c.nHeads;
  const nKv = kvSlots(c, granularity);
  const addSource = (name: string, kind: EdgeSource["kind"], layer: number | null, head: number | null) =>
    sources.push({ index: sources.length, name, kind, layer, head });
  const addDest = (d: Omit<EdgeDestination, "index">) =>
    destinations.push({ index: destinations.length, ...d });

  addSource("input", "input", null, null);
  for (let l = 0; l < c.nLayers; l++) {
    const upstream = sources.length; // everything written before layer l
    if (granularity !== "layer") {
      for (let h = 0; h < c.nHeads; h++)
        addDest({
          name: `a${l}.h${h}<q>`,
          node: `a${l}.h${h}`,
          kind: "q",
          layer: l,
          head: h,
          nSources: upstream,
        });
      for (const kind of ["k", "v"] as const)
        for (let j = 0; j < nKv; j++) {
          const node = grouped ? `a${l}.kv${j}` : `a${l}.h${j}`;
          addDest({ name: `${node}<${kind}>`, node, kind, layer: l, head: j, nSources: upstream });
        }
      for (let h = 0; h < c.nHeads; h++) addSource(`a${l}.h${h}`, "head", l, h);
    } else {
      addDest({ name: `a${l}`, node: `a${l}`, kind: "attn", layer: l, head: null, nSources: upstream });
      addSource(`a${l}`, "attn", l, null);
    }
    if (hasMlp) {
      const n = c.parallelResidual ? upstream : sources.length;
      addDest({ name: `m${l}`, node: `m${l}`, kind: "mlp", layer: l, head: null, nSources: n });
      addSource(`m${l}`, "mlp", l, null);
    }
  }
  addDest({
    name: "logits",
    node: "logits",
    kind: "logits",
    layer: null,
    head: null,
    nSources: sources.length,
  });

  const edges: Edge[] = [];
  for (const d of destinations)
    for (let s = 0; s < d.nSources; s++)
      edges.push({
        index: edges.length,
        name: edgeName(sources[s]!.name, d.name),
        source: s,
        destination: d.index,
      });
  return { granularity, nLayers: c.nLayers, sources, destinations, edges };
};

/**
 * Position of edge (source, destination) in a dense [sources, destinations] mask.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Edges, Weights } from "@patchbay/core";
 * import "@patchbay/zoo";
 * import { Effect } from "effect";
 *
 * const model = await Effect.runPromise(Weights.loadModel("builtin:induction"));
 * const layout = Edges.edgeLayout(model.config);
 * const last = layout.edges.at(-1)!; // a1.h3->logits
 * assert.equal(Edges.maskIndex(layout, last), layout.sources.length * layout.destinations.length - 1);
 * ```
 */
export const maskIndex = (layout: EdgeLayout, e: Edge): number =>
  e.source * layout.destinations.length + e.destination;
