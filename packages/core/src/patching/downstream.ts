import type { MetricKind } from "../engine/spec.ts";
import type { Graph, GraphBuilder, Value } from "../graph/index.ts";
import type { ModelConfig, Weights } from "../model/index.ts";
import { buildTransformerGraph } from "../transformer/index.ts";
import { type EdgeDestination, type EdgeLayout, kvPerQueryHead, kvSlots } from "../edges/layout.ts";
import { metricAtSlots } from "./slots.ts";

/**
 * Exact single-edge patching, downstream of the destination only. Ablating u→v alone changes v's
 * input and nothing upstream of it:
 *   in_v = in_v(clean) − Δ_u,   Δ_u = z_u(clean) − z′_u
 * (the edge-masked graph's rule, edges/hooks.ts, with one zero in the mask). So a row starts at
 * v's layer from the clean residual stream and carries one rank-one difference. The model runs as
 * one graph per block (built with the builder's `from` start, pruned after the block) and a head
 * graph (ln_final and the metric, the logits unembedded at the metric slots only, slots.ts), so
 * every weight is held once, rows that start at different layers share the later blocks' runs,
 * and a row starting at layer ℓ costs (L − ℓ)/L of the blocks. Inputs of a block graph ℓ:
 *   from_resid        [batch, pos, d]  the clean resid_pre of ℓ
 *   downstream.delta  [batch, pos, d]  Δ_u of the row's source
 *   downstream.slot   [batch, n]       one-hot: which of ℓ's destinations reads in − Δ (its
 *                                      attention destinations, q heads then k and v slots, or a
 *                                      single one at layer granularity; then its MLP)
 * and it outputs blocks.ℓ.resid_post. A row into an MLP starts at resid_pre too: its layer's
 * attention recomputes the clean values. Only rows starting at ℓ run this graph (each head reads
 * its own input, the per-head path); rows passing through run plainBlockGraph (the fused path). The head graph reads the last resid_post, with
 * downstream.slot [batch, 1] picking rows into the logits.
 */
export const DOWNSTREAM_DELTA = "downstream.delta";
export const DOWNSTREAM_SLOT = "downstream.slot";

/** The layer whose block graph a destination's rows start at (nLayers: the head graph). */
export const startLayer = (c: ModelConfig, v: EdgeDestination): number => v.layer ?? c.nLayers;

/** Attention destinations of a layer: slots [0, attnSlots) of its block graph. */
export const attnSlots = (c: ModelConfig, layout: EdgeLayout): number =>
  layout.granularity === "layer" ? 1 : c.nHeads + 2 * kvSlots(c, layout.granularity);

/** Slots of a block graph: its attention destinations, then its MLP. */
export const blockSlots = (c: ModelConfig, layout: EdgeLayout): number =>
  attnSlots(c, layout) + (c.dMlp !== null ? 1 : 0);

/** in − slot[:, off:off+k] · Δ, the slot broadcast over positions (and d): value [b, p, (k,) d]. */
const patched = (value: Value, slot: Value, delta: Value, off: number, k: number | null, g: GraphBuilder) => {
  const B = value.shape[0]!;
  const pick = g.slice(slot, 1, off, off + (k ?? 1));
  if (k === null) return g.sub(value, g.mul(g.reshape(pick, [B, 1, 1]), delta)); //           [b, p, d]
  return g.sub(value, g.mul(g.reshape(pick, [B, 1, k, 1]), g.unsqueeze(delta, 2))); // [b, p, k, d]
};

/** Block `layer` alone, from resid_pre to resid_post, for rows passing through (the fused fast path). */
export const plainBlockGraph = (c: ModelConfig, w: Weights, layer: number): Graph =>
  buildTransformerGraph(c, w, {
    from: { layer, site: "resid_pre" },
    capture: [`blocks.${layer}.resid_post`],
    logits: false,
  }).graph;

/** Block `layer` for rows that start there: one destination's input reads in − Δ (see above). */
export const blockGraph = (c: ModelConfig, w: Weights, layout: EdgeLayout, layer: number): Graph => {
  const nKv = kvSlots(c, layout.granularity);
  const n = attnSlots(c, layout);
  const pre = `blocks.${layer}`;
  // [offset, slots] of each attention input among the layer's attention destinations
  const qkv: Record<string, [number, number]> =
    layout.granularity === "layer"
      ? { q_input: [0, 1], k_input: [0, 1], v_input: [0, 1] }
      : { q_input: [0, c.nHeads], k_input: [c.nHeads, nKv], v_input: [c.nHeads + nKv, nKv] };
  const sites = [
    ...Object.keys(qkv).map((s) => `${pre}.attn.${s}`),
    ...(c.dMlp !== null ? [`${pre}.mlp_in`] : []),
  ];
  const inputs: { delta?: Value; slot?: Value } = {};
  const built = buildTransformerGraph(c, w, {
    from: { layer, site: "resid_pre" },
    capture: [`${pre}.resid_post`],
    logits: false,
    hooks: {
      touched: new Set(sites),
      kvPerQueryHead: kvPerQueryHead(c, layout.granularity),
      at: (site, value, g) => {
        if (!sites.includes(site)) return value;
        inputs.delta ??= g.input(DOWNSTREAM_DELTA, "float32", ["batch", "pos", c.dModel]);
        inputs.slot ??= g.input(DOWNSTREAM_SLOT, "float32", ["batch", blockSlots(c, layout)]);
        if (site.endsWith("mlp_in")) return patched(value, inputs.slot, inputs.delta, n, null, g);
        const [off, k] = qkv[site.slice(site.lastIndexOf(".") + 1)]!;
        return patched(value, inputs.slot, inputs.delta, off, k, g);
      },
    },
  });
  return built.graph;
};

export const headGraph = (c: ModelConfig, w: Weights, metric: MetricKind): Graph => {
  const last = `blocks.${c.nLayers - 1}.resid_post`;
  const { builder, final } = buildTransformerGraph(c, w, {
    from: { layer: c.nLayers - 1, site: "resid_post" },
    logits: false,
    hooks: {
      touched: new Set([last]),
      at: (site, value, g) => {
        if (site !== last) return value;
        const delta = g.input(DOWNSTREAM_DELTA, "float32", ["batch", "pos", c.dModel]);
        return patched(value, g.input(DOWNSTREAM_SLOT, "float32", ["batch", 1]), delta, 0, null, g);
      },
    },
  });
  builder.output(metricAtSlots(builder, c, w, metric, final).perExample);
  return builder.build();
};
