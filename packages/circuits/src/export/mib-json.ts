import type { EdgeLayout } from "@patchbay/core/edges";
import { FORBIDDEN_KEYS_EXPECTED, forbiddenKeyPath } from "@patchbay/core/text";
import { InputError } from "@patchbay/core/errors";
import type { ModelConfig } from "@patchbay/core/model";
import { type Circuit, checkInGraph, checkScores } from "../graph/circuit.ts";
import { topology } from "../graph/topology.ts";

/**
 * EAP-IG / MIB circuit files: what `Graph.to_json` writes and `Graph.from_json` reads
 * (hannamw/EAP-IG, src/eap/graph.py):
 *   {"cfg": {"n_layers", "n_heads", "parallel_attn_mlp", "d_model"},
 *    "nodes": {name: {"in_graph": bool}},            (older eap/graph.py: {name: bool})
 *    "edges": {"u->v" or "u->a3.h2<q>": {"score": float, "in_graph": bool}}}
 * Node names input, a{l}.h{h}, m{l}, logits; node in_graph follows EAP-IG's prune: a node is in
 * when it has an in-graph out-edge and (input excepted) an in-graph in-edge; logits always.
 *
 * Every layout edge is one entry, under its own name, so no score is written twice. Grouped-query
 * attention: EAP-IG and MIB name one <k>/<v> input per query head, which is the `head-qkv`
 * layout; a `head` layout's shared a{l}.kv{j}<k|v> destinations have no MIB name (writing one
 * score onto every query head of the group would count it G times), so both directions refuse it
 * with an InputError that says to use head-qkv. Layer layouts have no MIB form either. A NaN score
 * is written as null (JSON has no NaN; EAP-IG's loader wants a float); edges missing from a file
 * read as score 0, not in graph (EAP-IG's defaults).
 */
export interface MibGraphJson {
  readonly cfg: {
    readonly n_layers: number;
    readonly n_heads: number;
    readonly parallel_attn_mlp: boolean;
    readonly d_model: number;
  };
  readonly nodes: Record<string, { readonly in_graph: boolean } | boolean>;
  readonly edges: Record<string, { readonly score: number | null; readonly in_graph: boolean }>;
}

interface Shape {
  readonly nHeads: number;
  /** null for attention-only layouts, where it cannot be told (and does not matter). */
  readonly parallel: boolean | null;
}

/**
 * Why a layout has no MIB JSON form (layer granularity, shared GQA key/value), or null.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mibJsonProblem } from "@patchbay/circuits";
 * import { edgeLayout } from "@patchbay/core/edges";
 * import { inductionModel } from "@patchbay/zoo";
 *
 * const config = inductionModel().config;
 * assert.equal(mibJsonProblem(edgeLayout(config, "head")), null);
 * assert.equal(mibJsonProblem(edgeLayout(config, "layer"))?._tag, "InputError");
 * ```
 */
export const mibJsonProblem = (layout: EdgeLayout): InputError | null => {
  if (layout.granularity === "layer")
    return new InputError({
      field: "granularity",
      expected: "head or head-qkv (MIB JSON needs a head-granularity layout: EAP-IG has no layer nodes)",
      found: '"layer"',
    });
  const shared = layout.destinations.find((d) => d.kind === "k" && d.node.includes(".kv"));
  if (shared !== undefined)
    return new InputError({
      field: "granularity",
      expected:
        "head-qkv for a grouped-query model (MIB and EAP-IG name a <k>/<v> input per query head; " +
        `the head layout's shared ${shared.name} would be written once per query head, duplicating its score)`,
      found: '"head"',
    });
  return null;
};

/** Heads per layer and parallel residual, read off the layout. */
const layoutShape = (layout: EdgeLayout): Shape => {
  const problem = mibJsonProblem(layout);
  if (problem !== null) throw problem;
  const nHeads = layout.sources.filter((s) => s.kind === "head" && s.layer === 0).length;
  // m0 reads only the input when attention and MLP are parallel
  const m0 = layout.destinations.find((d) => d.kind === "mlp" && d.layer === 0);
  return { nHeads, parallel: m0 === undefined ? null : m0.nSources === 1 };
};

/**
 * A circuit in EAP-IG / MIB's JSON form: `{ cfg, nodes: { name: { in_graph } }, edges: { name: { score, in_graph } } }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { toMibJson, topN } from "@patchbay/circuits";
 * import { edgeLayout } from "@patchbay/core/edges";
 * import { inductionModel } from "@patchbay/zoo";
 *
 * const model = inductionModel();
 * const layout = edgeLayout(model.config);
 * const scores = Float64Array.from(layout.edges, (e) => (e.name === "a1.h2->logits" ? 1 : 0));
 * const json = toMibJson(layout, topN(layout, scores, 1, { absolute: true }), model.config);
 * assert.equal(json.cfg.n_layers, 2);
 * assert.equal(json.edges["a1.h2->logits"]?.in_graph, true);
 * ```
 */
export const toMibJson = (layout: EdgeLayout, circuit: Circuit, cfg: ModelConfig): MibGraphJson => {
  const shape = layoutShape(layout);
  if (circuit.layout.edges.length !== layout.edges.length)
    throw new Error("toMibJson: the circuit belongs to another layout");
  checkInGraph(layout, circuit.inGraph);
  if (circuit.scores) checkScores(layout, circuit.scores);
  if (
    cfg.nLayers !== layout.nLayers ||
    cfg.nHeads !== shape.nHeads ||
    (shape.parallel !== null && cfg.parallelResidual !== shape.parallel)
  )
    throw new Error(
      `toMibJson: config ${cfg.name} (${cfg.nLayers} layers, ${cfg.nHeads} heads, parallel ${cfg.parallelResidual}) ` +
        `does not match the layout (${layout.nLayers} layers, ${shape.nHeads} heads, parallel ${shape.parallel})`,
    );
  const t = topology(layout);
  const { inGraph, scores } = circuit;

  // node in_graph, as EAP-IG's prune defines it
  const hasOut = new Uint8Array(t.components.length);
  const hasIn = new Uint8Array(t.components.length);
  for (const e of layout.edges)
    if (inGraph[e.index]) {
      hasOut[e.source] = 1;
      const c = t.destComponent[e.destination]!;
      hasIn[c] = 1;
      for (const h of t.passesTo[c]!) hasIn[h] = 1;
    }
  const nodes: Record<string, { in_graph: boolean }> = {};
  for (const s of layout.sources)
    nodes[s.name] = { in_graph: hasOut[s.index] === 1 && (s.kind === "input" || hasIn[s.index] === 1) };
  nodes.logits = { in_graph: true };

  const edges: Record<string, { score: number | null; in_graph: boolean }> = {};
  for (const e of layout.edges) {
    const s = scores ? scores[e.index]! : 0;
    edges[e.name] = { score: Number.isNaN(s) ? null : s, in_graph: inGraph[e.index] === 1 };
  }
  return {
    cfg: {
      n_layers: cfg.nLayers,
      n_heads: cfg.nHeads,
      parallel_attn_mlp: cfg.parallelResidual,
      d_model: cfg.dModel,
    },
    nodes,
    edges,
  };
};

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** What a malformed MIB file is: an InputError naming the field (`cfg.n_heads`, `edges.<name>`). */
const bad = (field: string, expected: string, found: string): never => {
  throw new InputError({ field: `MIB circuit JSON: ${field}`, expected, found });
};

/**
 * Reads an EAP-IG / MIB circuit (object or JSON text, e.g. another tool's) onto a layout; returns
 * scores as Float64Array. A file that does not fit is an InputError naming the field.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { edgeNames, fromMibJson, toMibJson, topN } from "@patchbay/circuits";
 * import { edgeLayout } from "@patchbay/core/edges";
 * import { inductionModel } from "@patchbay/zoo";
 *
 * const model = inductionModel();
 * const layout = edgeLayout(model.config);
 * const circuit = topN(layout, Float64Array.from(layout.edges, (_, i) => i), 3, { absolute: true });
 * const back = fromMibJson(layout, JSON.stringify(toMibJson(layout, circuit, model.config)));
 * assert.deepEqual(edgeNames(back), edgeNames(circuit));
 * assert.equal(back.scores[80], 80);
 * ```
 */
export const fromMibJson = (
  layout: EdgeLayout,
  json: MibGraphJson | string,
): Circuit & { scores: Float64Array } => {
  const shape = layoutShape(layout);
  let d: unknown = json;
  if (typeof json === "string")
    try {
      d = JSON.parse(json);
    } catch (e) {
      bad("(document)", "JSON", e instanceof Error ? e.message : String(e));
    }
  const forbidden = forbiddenKeyPath(d);
  if (forbidden !== null) bad(forbidden, FORBIDDEN_KEYS_EXPECTED, forbidden);
  if (!isRecord(d) || !isRecord(d.cfg) || !isRecord(d.edges) || !isRecord(d.nodes))
    return bad("(document)", 'an object with "cfg", "nodes" and "edges"', typeof d);
  const { cfg } = d;
  if (cfg.n_layers !== layout.nLayers)
    bad("cfg.n_layers", `${layout.nLayers} (the layout's)`, String(cfg.n_layers));
  if (cfg.n_heads !== shape.nHeads) bad("cfg.n_heads", `${shape.nHeads} (the layout's)`, String(cfg.n_heads));
  if (
    shape.parallel !== null &&
    typeof cfg.parallel_attn_mlp === "boolean" &&
    cfg.parallel_attn_mlp !== shape.parallel
  )
    bad("cfg.parallel_attn_mlp", `${shape.parallel} (the layout's)`, String(cfg.parallel_attn_mlp));

  const index = new Map(layout.edges.map((e) => [e.name, e.index]));
  const n = layout.edges.length;
  const inGraph = new Uint8Array(n);
  const scores = new Float64Array(n); //                       edges missing from the file: 0
  const unknown: string[] = [];
  for (const [name, info] of Object.entries(d.edges)) {
    const e = index.get(name);
    if (e === undefined) {
      unknown.push(name);
      continue;
    }
    if (!isRecord(info) || typeof info.in_graph !== "boolean")
      bad(`edges.${name}`, '{"score": number | null, "in_graph": boolean}', JSON.stringify(info));
    const raw = (info as Record<string, unknown>).score;
    if (raw !== null && raw !== undefined && typeof raw !== "number")
      bad(`edges.${name}.score`, "a number or null", JSON.stringify(raw));
    if ((info as Record<string, unknown>).in_graph) inGraph[e] = 1;
    scores[e] = typeof raw === "number" ? raw : Number.NaN;
  }
  if (unknown.length > 0)
    bad(
      `edges.${unknown[0]}`,
      `edges of the layout${layout.destinations.some((x) => x.kind === "mlp") ? "" : " (it has no MLPs)"}`,
      `${unknown.length} edge(s) not in it, e.g. ${unknown.slice(0, 3).join(", ")}`,
    );
  return { layout, inGraph, scores };
};
