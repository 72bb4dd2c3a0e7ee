import { Effect } from "effect";
import * as ort from "onnxruntime-node";
import { gradients, gradName } from "../autodiff/index.ts";
import { metricFeeds, type MetricBinding } from "../engine/bind.ts";
import { buildMetric, METRIC, METRIC_MEAN } from "../engine/metric.ts";
import type { MetricKind } from "../engine/spec.ts";
import { InputError, RuntimeError } from "../errors/index.ts";
import { type Graph, GraphBuilder, type Value } from "../graph/index.ts";
import type { ModelConfig, Weights } from "../model/index.ts";
import { feeds, makeBatch, type SessionCache } from "../runtime/index.ts";
import { type HostTensor, sameShape, shapeString } from "../tensor/index.ts";
import { buildTransformerGraph, leafName } from "../transformer/index.ts";
import { EDGE_ABLATED, sourceSite } from "./hooks.ts";
import type { EdgeLayout } from "./layout.ts";

/**
 * EAP in one forward and one backward of the *fused* model (no per-destination forward path):
 *   s(u→v) = −∂metric/∂m_uv|_{m=1} = −Σ_{b,p} Δ_uᵀ G_v,   Δ_u = z_u(x) − z′_u,   G_v = ∂metric/∂in_v
 * At m = 1 every destination's input is the plain residual stream, so only G_v needs the
 * per-destination form, and it follows from gradients the fused graph already has:
 *   q/k/v of head h:  G = J_norm(x)ᵀ (W_X[h] · ∂metric/∂X_h)     X ∈ {q, k, v}, x = resid_pre
 *   m{l}: ∂metric/∂mlp_in     logits: ∂metric/∂resid_post of the last block
 * (the leaf gradients of sites attn.q/k/v, mlp_in and the last resid_post), with the norm's
 * vector–Jacobian product written out (ĝ = g ⊙ w):
 *   LayerNorm  J_LNᵀ g  = (ĝ − mean(ĝ) − x̂ · mean(ĝ ⊙ x̂)) / σ,   x̂ = (x − μ)/σ
 *   RMSNorm    J_RMSᵀ g = (ĝ − x̂ · mean(ĝ ⊙ x̂)) / σ,             x̂ = x/σ
 * The contraction over batch and positions is a GEMM per source piece and destination group,
 * and the graph returns `edges.attribution` [S, D] = Σ_b Δᵀ G (batch-summed gradient of the
 * batch-mean metric w.r.t. the mask) — identical to the mask gradient of the edge-masked graph
 * (a test checks it), at the cost of the plain forward and backward.
 */
export const EDGE_ATTRIBUTION = "edges.attribution";
/** With `embed: true`, the token embeddings [batch, pos, d] are this input (EAP-IG's interpolation). */
export const EDGE_EMBED = "edges.embed";

const leafSites = (c: ModelConfig): string[] => {
  const out: string[] = [];
  for (let l = 0; l < c.nLayers; l++) {
    for (const s of ["q", "k", "v"]) out.push(`blocks.${l}.attn.${s}`);
    if (c.dMlp !== null) out.push(`blocks.${l}.mlp_in`);
  }
  out.push(`blocks.${c.nLayers - 1}.resid_post`);
  return out;
};

export const edgeAttributionGraph = (
  c: ModelConfig,
  w: Weights,
  layout: EdgeLayout,
  metric: MetricKind,
  embed = false,
): Graph => {
  const S = layout.sources.length;
  const d = c.dModel;
  const sourceSites = [...new Set(layout.sources.map((_, s) => sourceSite(layout, s).site))];
  const residPre = Array.from({ length: c.nLayers }, (_, l) => `blocks.${l}.resid_pre`);
  const leaves = leafSites(c);
  // Forward (fused path; per-head results only because they are sources), names recorded.
  const watched = new Set([...sourceSites, ...residPre]);
  const seen = new Map<string, string>();
  const { builder, logits } = buildTransformerGraph(c, w, {
    hooks: {
      touched: new Set([...sourceSites, ...leaves, ...(embed ? ["embed"] : [])]),
      at: (site, value, b) => {
        if (embed && site === "embed") return b.input(EDGE_EMBED, "float32", ["batch", "pos", d]);
        if (watched.has(site)) seen.set(site, value.name);
        return value;
      },
    },
    leaves,
    logits: false,
  });
  const m = buildMetric(builder, metric, logits);
  builder.output(m.perExample);
  builder.output(m.mean);
  // Keep the recorded values alive through build()'s pruning: they are read after the backward.
  for (const name of seen.values()) builder.output(builder.get(name));
  const withGrads = gradients(builder.build(), METRIC_MEAN, leaves.map(leafName)).graph;

  const g = GraphBuilder.from(withGrads);
  const keep = new Set([METRIC, METRIC_MEAN]);
  g.dropOutputs((n) => !keep.has(n));
  const grad = (site: string) => g.get(gradName(leafName(site)));
  const ablated = g.input(EDGE_ABLATED, "float32", ["batch", "pos", S, d]);
  const [B, P] = ["batch", "pos"] as const;

  // Δ per source piece, as rows [b, k, p·d]
  const pieces: { start: number; size: number; delta: Value }[] = [];
  const addPiece = (z: Value, start: number) => {
    const k = z.shape[2] as number;
    const delta = g.sub(z, g.slice(ablated, 2, start, start + k)); //               [b, p, k, d]
    pieces.push({ start, size: k, delta: g.reshape(g.transpose(delta, [0, 2, 1, 3]), [B, k, "pos·d"]) });
  };
  const srcIndex = (name: string) => layout.sources.find((s) => s.name === name)!.index;
  addPiece(g.unsqueeze(g.get(seen.get("blocks.0.resid_pre")!), 2), 0);
  for (let l = 0; l < c.nLayers; l++) {
    if (layout.granularity === "head")
      addPiece(g.get(seen.get(`blocks.${l}.attn.result`)!), srcIndex(`a${l}.h0`));
    else addPiece(g.unsqueeze(g.get(seen.get(`blocks.${l}.attn_out`)!), 2), srcIndex(`a${l}`));
    if (c.dMlp !== null) addPiece(g.unsqueeze(g.get(seen.get(`blocks.${l}.mlp_out`)!), 2), srcIndex(`m${l}`));
  }

  /** [S, n]: Σ_b Δᵀ G over the pieces upstream of a group whose G is [b, n, p, d]. */
  const block = (G: Value, nSources: number): Value => {
    const n = G.shape[1] as number;
    const Gt = g.transpose(g.reshape(G, [B, n, "pos·d"]), [0, 2, 1]); //           [b, p·d, n]
    const parts = pieces
      .filter((p) => p.start < nSources)
      .map((p) => g.reduceSum(g.matmul(p.delta, Gt), [0], false)); //             [k, n]
    const upstream = parts.length === 1 ? parts[0]! : g.concat(parts, 0);
    const rows = upstream.shape[0] as number;
    return rows === S ? upstream : g.pad(upstream, [0, 0, S - rows, 0], [S, n]);
  };

  /** J_normᵀ applied to U [b, n, p, d], with x the layer's input [b, p, d]. */
  const normVjp = (U: Value, l: number): Value => {
    if (c.norm === "none") return U;
    const x = g.unsqueeze(g.get(seen.get(`blocks.${l}.resid_pre`)!), 1); //         [b, 1, p, d]
    const eps = g.scalar(c.normEps);
    const centered = c.norm === "layernorm" ? g.sub(x, g.reduceMean(x, [-1])) : x;
    const sigma = g.sqrt(g.add(g.reduceMean(g.mul(centered, centered), [-1]), eps)); // [b, 1, p, 1]
    const xhat = g.div(centered, sigma);
    const gw = g.mul(U, g.weight(`blocks.${l}.ln1.w`, w.get(`blocks.${l}.ln1.w`)!)); //  ĝ = g ⊙ w
    let out = g.sub(gw, g.mul(xhat, g.reduceMean(g.mul(gw, xhat), [-1])));
    if (c.norm === "layernorm") out = g.sub(out, g.reduceMean(gw, [-1]));
    return g.div(out, sigma);
  };

  const columns: Value[] = [];
  for (let l = 0; l < c.nLayers; l++) {
    const first = layout.destinations.find((x) => x.layer === l && (x.kind === "q" || x.kind === "attn"))!;
    // U_X = W_X[h] · ∂m/∂X_h: [b, h, p, dh] · [h, dh, d] → [b, h, p, d], heads of q, k, v stacked
    const perKind = (["q", "k", "v"] as const).map((s) => {
      const X = s.toUpperCase();
      const W = g.transpose(
        g.weight(`attr.blocks.${l}.W_${X}`, w.get(`blocks.${l}.attn.W_${X}`)!),
        [0, 2, 1],
      );
      return g.matmul(g.transpose(grad(`blocks.${l}.attn.${s}`), [0, 2, 1, 3]), W);
    });
    let U = g.concat(perKind, 1); //                                                 [b, H + 2Hkv, p, d]
    if (layout.granularity === "layer") U = g.reduceSum(U, [1], true); //             [b, 1, p, d]
    columns.push(block(normVjp(U, l), first.nSources));
    if (c.dMlp !== null) {
      const v = layout.destinations.find((x) => x.name === `m${l}`)!;
      columns.push(block(g.unsqueeze(grad(`blocks.${l}.mlp_in`), 1), v.nSources));
    }
  }
  columns.push(block(g.unsqueeze(grad(`blocks.${c.nLayers - 1}.resid_post`), 1), S));
  g.output(g.named(g.concat(columns, 1), EDGE_ATTRIBUTION));
  return g.build();
};

/**
 * Run it on a batch: ∂(batch-mean metric)/∂m_uv at m = 1 summed over the batch, [S·D] in the
 * layout's dense mask order, and the metric. z′ [batch, pos, S, d] as for edge patching.
 */
export const edgeAttribution = (
  cache: SessionCache,
  model: { readonly config: ModelConfig; readonly weights: Weights },
  layout: EdgeLayout,
  metric: MetricKind,
  seqs: readonly (readonly number[])[],
  ablated: HostTensor,
  binding: MetricBinding,
  /** token embeddings to use instead of W_E[ids], [batch, pos, d_model] */
  embed?: HostTensor,
): Effect.Effect<
  { readonly gradient: Float32Array; readonly perExample: Float32Array },
  InputError | RuntimeError
> =>
  Effect.gen(function* () {
    const c = model.config;
    const { batch, bound } = yield* Effect.try({
      try: () => {
        const batch = makeBatch(c, seqs);
        const want = [batch.batch, batch.pos, layout.sources.length, c.dModel];
        if (!sameShape(ablated.shape, want))
          throw new InputError({
            field: "ablated",
            expected: `shape ${shapeString(want)} [batch, pos, sources, d_model]`,
            found: shapeString(ablated.shape),
          });
        const embedShape = [batch.batch, batch.pos, c.dModel];
        if (embed !== undefined && !sameShape(embed.shape, embedShape))
          throw new InputError({
            field: "embed",
            expected: `shape ${shapeString(embedShape)} [batch, pos, d_model]`,
            found: shapeString(embed.shape),
          });
        return {
          batch,
          bound: {
            ...metricFeeds(c, batch, metric, binding),
            [EDGE_ABLATED]: new ort.Tensor("float32", ablated.data, want),
            ...(embed !== undefined
              ? { [EDGE_EMBED]: new ort.Tensor("float32", embed.data, embedShape) }
              : {}),
          },
        };
      },
      catch: (e) => e as InputError,
    });
    const withEmbed = embed !== undefined;
    const session = yield* cache.get(`edge-attribution:${layout.granularity}:${metric}:${withEmbed}`, () =>
      edgeAttributionGraph(c, model.weights, layout, metric, withEmbed),
    );
    const base = feeds(
      batch,
      session.inputNames.filter((n) => !(n in bound)),
    );
    const out = yield* Effect.tryPromise({
      try: () => session.run({ ...base, ...bound }),
      catch: (cause) => new RuntimeError({ model: cache.model, operation: "edge attribution", cause }),
    });
    return {
      gradient: out[EDGE_ATTRIBUTION]!.data as Float32Array,
      perExample: out[METRIC]!.data as Float32Array,
    };
  });
