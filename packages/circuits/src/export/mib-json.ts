import type { EdgeLayout, ModelConfig } from "@patchbay/core";
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
 * Grouped-query attention: EAP-IG has one <k>/<v> input per query head, so an edge
 * u→a{l}.kv{j}<k> is written once per query head of its group (same score and in_graph); reading
 * back, a kv edge is in when any of its heads' copies is, with their common score (their mean if
 * they differ). Head granularity only. A NaN score is written as null (JSON has no NaN, and
 * EAP-IG's loader wants a float: fill NaN first if the file is for EAP-IG); edges missing from
 * a file read as score 0, not in graph (EAP-IG's defaults).
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

/** Heads per layer and parallel residual, read off the layout. */
const layoutShape = (layout: EdgeLayout): Shape => {
  if (layout.granularity !== "head")
    throw new Error(
      `MIB JSON needs a head-granularity layout (EAP-IG has no layer nodes), got "${layout.granularity}"`,
    );
  const nHeads = layout.sources.filter((s) => s.kind === "head" && s.layer === 0).length;
  // m0 reads only the input when attention and MLP are parallel
  const m0 = layout.destinations.find((d) => d.kind === "mlp" && d.layer === 0);
  return { nHeads, parallel: m0 === undefined ? null : m0.nSources === 1 };
};

/** MIB names of a destination: one per query head for GQA kv destinations, else its own name. */
const mibDestNames = (layout: EdgeLayout): string[][] => {
  const t = topology(layout);
  return layout.destinations.map((d) => {
    const c = t.destComponent[d.index]!;
    if (t.components[c]!.kind !== "kv") return [d.name];
    return t.passesTo[c]!.map((h) => `${t.components[h]!.name}<${d.kind}>`);
  });
};

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

  const names = mibDestNames(layout);
  const edges: Record<string, { score: number | null; in_graph: boolean }> = {};
  for (const e of layout.edges) {
    const s = scores ? scores[e.index]! : 0;
    const entry = { score: Number.isNaN(s) ? null : s, in_graph: inGraph[e.index] === 1 };
    const src = layout.sources[e.source]!.name;
    for (const d of names[e.destination]!) edges[`${src}->${d}`] = entry;
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

/** Reads an EAP-IG / MIB circuit (object or JSON text) onto a layout; returns scores as Float64Array. */
export const fromMibJson = (
  layout: EdgeLayout,
  json: MibGraphJson | string,
): Circuit & { scores: Float64Array } => {
  const shape = layoutShape(layout);
  const d: unknown = typeof json === "string" ? JSON.parse(json) : json;
  if (!isRecord(d) || !isRecord(d.cfg) || !isRecord(d.edges) || !isRecord(d.nodes))
    throw new Error('fromMibJson: expected an object with "cfg", "nodes" and "edges"');
  const { cfg } = d;
  if (cfg.n_layers !== layout.nLayers || cfg.n_heads !== shape.nHeads)
    throw new Error(
      `fromMibJson: file has n_layers ${String(cfg.n_layers)}, n_heads ${String(cfg.n_heads)}; ` +
        `the layout has ${layout.nLayers} and ${shape.nHeads}`,
    );
  if (
    shape.parallel !== null &&
    typeof cfg.parallel_attn_mlp === "boolean" &&
    cfg.parallel_attn_mlp !== shape.parallel
  )
    throw new Error(
      `fromMibJson: file has parallel_attn_mlp ${cfg.parallel_attn_mlp}, the layout ${shape.parallel}`,
    );

  // MIB edge name → (layout edge index)
  const names = mibDestNames(layout);
  const index = new Map<string, number>();
  for (const e of layout.edges) {
    const src = layout.sources[e.source]!.name;
    for (const n of names[e.destination]!) index.set(`${src}->${n}`, e.index);
  }
  const n = layout.edges.length;
  const inGraph = new Uint8Array(n);
  const sum = new Float64Array(n);
  const first = new Float64Array(n);
  const count = new Uint32Array(n);
  const differ = new Uint8Array(n);
  const unknown: string[] = [];
  for (const [name, info] of Object.entries(d.edges)) {
    const e = index.get(name);
    if (e === undefined) {
      unknown.push(name);
      continue;
    }
    if (!isRecord(info) || typeof info.in_graph !== "boolean")
      throw new Error(`fromMibJson: edge ${name} needs {"score", "in_graph": boolean}`);
    const raw = info.score;
    if (raw !== null && raw !== undefined && typeof raw !== "number")
      throw new Error(`fromMibJson: edge ${name} has a non-numeric score`);
    const s = typeof raw === "number" ? raw : Number.NaN;
    if (info.in_graph) inGraph[e] = 1;
    if (count[e] === 0) first[e] = s;
    else if (!Object.is(first[e], s)) differ[e] = 1;
    sum[e]! += s;
    count[e]!++;
  }
  if (unknown.length > 0)
    throw new Error(
      `fromMibJson: ${unknown.length} edge(s) not in the layout, e.g. ${unknown.slice(0, 3).join(", ")}` +
        (layout.destinations.some((x) => x.kind === "mlp") ? "" : " (the layout has no MLPs)"),
    );
  const scores = new Float64Array(n);
  for (let e = 0; e < n; e++) scores[e] = count[e] === 0 ? 0 : differ[e] ? sum[e]! / count[e]! : first[e]!;
  return { layout, inGraph, scores };
};
