import type { EdgeLayout } from "../edges/layout.ts";
import type { Graph, Initializer, Node, Value } from "../graph/index.ts";
import type { ModelConfig, Weights } from "../model/index.ts";
import { buildTransformerGraph, INPUT_IDS } from "../transformer/index.ts";
import { compactSites } from "./compact.ts";

/** The corrupted token ids [batch, pos] of the fused graph with its own corrupted forward. */
export const CORRUPTED_IDS = "edges.corrupted.ids";

/** The compact parts (see compact.ts) by the site that holds each. */
const partsBySite = (c: ModelConfig, layout: EdgeLayout): Map<string, string> => {
  const s = compactSites(c, layout);
  const parts = new Map([[s.input, "input"]]);
  s.attn.forEach((site, l) => {
    parts.set(site, `attn.${l}`);
  });
  s.mlp.forEach((site, l) => {
    if (site !== null) parts.set(site, `mlp.${l}`);
  });
  return parts;
};

const sameData = (a: Initializer, b: Initializer): boolean => {
  if (a.data.dtype !== "float32" || b.data.dtype !== "float32") return false;
  const [x, y] = [a.data.tensor, b.data.tensor];
  if (x.shape.length !== y.shape.length || x.shape.some((d, i) => d !== y.shape[i])) return false;
  if (x.data === y.data) return true;
  if (x.data.length !== y.data.length) return false;
  for (let i = 0; i < x.data.length; i++) if (x.data[i] !== y.data[i]) return false;
  return true;
};

/**
 * The fused attribution graph of a resample ablation with z′ computed inside it: a forward of the
 * corrupted ids (CORRUPTED_IDS, same lengths as the clean batch, so the attention mask and positions
 * are the clean batch's) whose compact sites become the graph's z′ (`ablated(part)`). The forward
 * shares every weight with the fused graph under its own name, so the session holds the weights
 * once, and no separate capture session is built or kept for z′ (on GPT-2 small at 8 × 128 that
 * session held ≈ 0.8 GB and took a compile of its own).
 */
export const withCorruptedForward = (
  fused: Graph,
  c: ModelConfig,
  w: Weights,
  layout: EdgeLayout,
  ablated: (part: string) => string,
): Graph => {
  const parts = partsBySite(c, layout);
  const forward = buildTransformerGraph(c, w, { capture: [...parts.keys()], logits: false }).graph;
  const fusedInits = new Map(fused.initializers.map((i) => [i.value.name, i]));
  const fusedInputs = new Set(fused.inputs.map((i) => i.name));
  // its captured sites are the fused graph's z′ inputs; the ids are the corrupted ones; the mask
  // and positions, and every weight the fused graph holds with the same data, are shared
  const names = new Map<string, string>();
  for (const o of forward.outputs) names.set(o.name, ablated(parts.get(o.name)!));
  for (const i of forward.inputs) {
    if (i.name !== INPUT_IDS && !fusedInputs.has(i.name))
      throw new Error(`corrupted forward: input ${i.name} is not an input of the fused attribution graph`);
    names.set(i.name, i.name === INPUT_IDS ? CORRUPTED_IDS : i.name);
  }
  const inits: Initializer[] = [];
  for (const i of forward.initializers) {
    const same = fusedInits.get(i.value.name);
    if (same !== undefined && sameData(same, i)) names.set(i.value.name, i.value.name);
    else {
      names.set(i.value.name, `corrupted/${i.value.name}`);
      inits.push({ ...i, value: { ...i.value, name: `corrupted/${i.value.name}` } });
    }
  }
  const rename = (n: string) => names.get(n) ?? `corrupted/${n}`;
  const nodes: Node[] = forward.nodes.map((n) => ({
    ...n,
    inputs: n.inputs.map((x) => (x === "" ? x : rename(x))),
    outputs: n.outputs.map(rename),
  }));
  const values = new Map<string, Value>(fused.values);
  for (const [name, v] of forward.values) values.set(rename(name), { ...v, name: rename(name) });
  const zPrime = new Set(forward.outputs.map((o) => rename(o.name)));
  const ids = forward.inputs.find((i) => i.name === INPUT_IDS)!;
  return {
    name: fused.name,
    inputs: [...fused.inputs.filter((i) => !zPrime.has(i.name)), { ...ids, name: CORRUPTED_IDS }],
    initializers: [...fused.initializers, ...inits],
    nodes: [...nodes, ...fused.nodes],
    outputs: fused.outputs,
    values,
  };
};
