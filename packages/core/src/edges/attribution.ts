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
import { type CompactSources, compactSites } from "./compact.ts";
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
/** The compact z′ inputs (see compact.ts): edges.ablated.input, edges.ablated.attn.{l}, edges.ablated.mlp.{l}. */
export const ablatedInput = (part: string): string => `edges.ablated.${part}`;
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
  const compact = compactSites(c, layout);
  const sourceSites = [compact.input, ...compact.attn, ...compact.mlp.filter((x): x is string => x !== null)];
  const residPre = Array.from({ length: c.nLayers }, (_, l) => `blocks.${l}.resid_pre`);
  const leaves = leafSites(c);
  // Forward (the fused path: attn.z and mlp_out are sites it has anyway), value names recorded.
  const watched = new Set([...sourceSites, ...residPre]);
  const seen = new Map<string, string>();
  const { builder, logits } = buildTransformerGraph(c, w, {
    hooks: {
      touched: new Set([...leaves, ...(embed ? ["embed"] : [])]),
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
  const at = (site: string) => g.get(seen.get(site)!);
  const [B, P] = ["batch", "pos"] as const;

  // Δ per source piece, as rows [b, k, p·d]; heads: Δ_h = (z_h − z′_h)·W_O[h]
  const pieces: { start: number; size: number; delta: Value }[] = [];
  const stream = (site: string, input: string, start: number) => {
    const delta = g.sub(at(site), g.input(input, "float32", [B, P, d])); //          [b, p, d]
    pieces.push({ start, size: 1, delta: g.reshape(g.unsqueeze(delta, 1), [B, 1, "pos·d"]) });
  };
  const srcIndex = (name: string) => layout.sources.find((s) => s.name === name)!.index;
  stream(compact.input, ablatedInput("input"), 0);
  for (let l = 0; l < c.nLayers; l++) {
    if (layout.granularity === "head") {
      const H = c.nHeads;
      const dz = g.sub(
        at(compact.attn[l]!),
        g.input(ablatedInput(`attn.${l}`), "float32", [B, P, H, c.dHead]),
      );
      const WO = g.weight(`attr.blocks.${l}.W_O`, w.get(`blocks.${l}.attn.W_O`)!); // [H, dh, d]
      const rows = g.matmul(g.transpose(dz, [0, 2, 1, 3]), WO); //                      [b, H, p, d]
      pieces.push({ start: srcIndex(`a${l}.h0`), size: H, delta: g.reshape(rows, [B, H, "pos·d"]) });
    } else stream(compact.attn[l]!, ablatedInput(`attn.${l}`), srcIndex(`a${l}`));
    if (c.dMlp !== null) stream(compact.mlp[l]!, ablatedInput(`mlp.${l}`), srcIndex(`m${l}`));
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
    const x = g.unsqueeze(at(`blocks.${l}.resid_pre`), 1); //                      [b, 1, p, d]
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
 * layout's dense mask order, and the metric. z′ in compact form (compactAblated).
 */
export const edgeAttribution = (
  cache: SessionCache,
  model: { readonly config: ModelConfig; readonly weights: Weights },
  layout: EdgeLayout,
  metric: MetricKind,
  seqs: readonly (readonly number[])[],
  ablated: CompactSources,
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
        const bound: Record<string, ort.Tensor> = { ...metricFeeds(c, batch, metric, binding) };
        const bind = (name: string, t: HostTensor, rest: readonly number[]) => {
          const want = [batch.batch, batch.pos, ...rest];
          if (!sameShape(t.shape, want))
            throw new InputError({
              field: name,
              expected: `shape ${shapeString(want)}`,
              found: shapeString(t.shape),
            });
          bound[name] = new ort.Tensor("float32", t.data, want);
        };
        bind(ablatedInput("input"), ablated.input, [c.dModel]);
        ablated.attn.forEach((t, l) => {
          bind(
            ablatedInput(`attn.${l}`),
            t,
            layout.granularity === "head" ? [c.nHeads, c.dHead] : [c.dModel],
          );
        });
        ablated.mlp.forEach((t, l) => {
          if (t !== null) bind(ablatedInput(`mlp.${l}`), t, [c.dModel]);
        });
        if (embed !== undefined) bind(EDGE_EMBED, embed, [c.dModel]);
        return { batch, bound };
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
