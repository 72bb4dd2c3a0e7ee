import type { MetricKind } from "../engine/spec.ts";
import type { Graph, GraphBuilder, Value } from "../graph/index.ts";
import type { ModelConfig, Weights } from "../model/index.ts";
import { buildTransformerGraph, type ForwardStart } from "../transformer/index.ts";
import { type EdgeDestination, type EdgeLayout, kvPerQueryHead, kvSlots } from "../edges/layout.ts";
import { metricAtSlots } from "./slots.ts";

/**
 * Exact single-edge patching, downstream of the destination only. Ablating u→v alone changes v's
 * input and nothing else upstream of it:
 *   in_v = in_v(clean) − Δ_u,   Δ_u = z_u(clean) − z′_u
 * (the edge-masked graph's rule, edges/hooks.ts, with one zero in the mask). So a row starts the
 * forward from the clean residual stream at v's layer (resid_pre for attention, resid_mid for an
 * MLP in a serial block, the last resid_post for the logits) and adds one rank-one difference:
 *   downstream.delta  [batch, pos, d]  Δ_u of the row's source
 *   downstream.slot   [batch, n]       one-hot over the layer's attention destinations (q heads,
 *                                      then k and v slots; head granularities only)
 * A graph serves one group of destinations (a layer's attention inputs, its MLP, the logits), so
 * rows of any edge into the group batch together, and the metric reads the logits at its slots
 * only (slots.ts). A row into layer ℓ costs (L − ℓ)/L of a forward.
 */
export const DOWNSTREAM_DELTA = "downstream.delta";
export const DOWNSTREAM_SLOT = "downstream.slot";

/** The destinations one downstream graph serves. */
export type DownstreamGroup =
  | { readonly kind: "attn" | "mlp"; readonly layer: number }
  | { readonly kind: "logits" };

/** The group of a destination. */
export const groupOf = (v: EdgeDestination): DownstreamGroup =>
  v.kind === "logits" ? { kind: "logits" } : { kind: v.kind === "mlp" ? "mlp" : "attn", layer: v.layer! };

export const groupKey = (g: DownstreamGroup): string =>
  g.kind === "logits" ? "logits" : `${g.kind}${g.layer}`;

/** Where a group's rows start the forward: the residual stream its destinations read. */
export const groupStart = (c: ModelConfig, g: DownstreamGroup): ForwardStart =>
  g.kind === "logits"
    ? { layer: c.nLayers - 1, site: "resid_post" }
    : g.kind === "attn" || c.parallelResidual
      ? { layer: g.layer, site: "resid_pre" }
      : { layer: g.layer, site: "resid_mid" };

/** Attention destinations of a layer: one slot per destination (q heads, k slots, v slots). */
export const attnSlots = (c: ModelConfig, layout: EdgeLayout): number =>
  layout.granularity === "layer" ? 1 : c.nHeads + 2 * kvSlots(c, layout.granularity);

export const downstreamGraph = (
  c: ModelConfig,
  w: Weights,
  layout: EdgeLayout,
  metric: MetricKind,
  group: DownstreamGroup,
): Graph => {
  const d = c.dModel;
  const L = c.nLayers;
  const nKv = kvSlots(c, layout.granularity);
  const n = attnSlots(c, layout);
  const qkv: Record<string, [number, number]> = { q_input: [0, c.nHeads], k_input: [c.nHeads, nKv] };
  qkv.v_input = [c.nHeads + nKv, nKv];
  const sites =
    group.kind === "attn"
      ? Object.keys(qkv).map((s) => `blocks.${group.layer}.attn.${s}`)
      : [group.kind === "mlp" ? `blocks.${group.layer}.mlp_in` : `blocks.${L - 1}.resid_post`];
  let delta: Value | null = null;
  let slot: Value | null = null;
  const deltaOf = (g: GraphBuilder) => {
    delta ??= g.input(DOWNSTREAM_DELTA, "float32", ["batch", "pos", d]);
    return delta;
  };
  const { builder, final } = buildTransformerGraph(c, w, {
    from: groupStart(c, group),
    logits: false,
    hooks: {
      touched: new Set(sites),
      kvPerQueryHead: kvPerQueryHead(c, layout.granularity),
      at: (site, value, g) => {
        if (!sites.includes(site)) return value;
        if (group.kind !== "attn") return g.sub(value, deltaOf(g)); //                 [b, p, d]
        const dl = g.unsqueeze(deltaOf(g), 2); //                                      [b, p, 1, d]
        if (layout.granularity === "layer") return g.sub(value, dl); //              every head alike
        slot ??= g.input(DOWNSTREAM_SLOT, "float32", ["batch", n]);
        const [off, k] = qkv[site.slice(site.lastIndexOf(".") + 1)]!;
        const pick = g.reshape(g.slice(slot, 1, off, off + k), [value.shape[0]!, 1, k, 1]); // [b, 1, k, 1]
        return g.sub(value, g.mul(pick, dl)); //                                       [b, p, k, d]
      },
    },
  });
  const m = metricAtSlots(builder, c, w, metric, final);
  builder.output(m.perExample);
  return builder.build();
};
