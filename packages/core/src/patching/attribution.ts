import { Effect } from "effect";
import * as ort from "onnxruntime-node";
import { gradients, gradName } from "../autodiff/index.ts";
import { metricFeeds, type MetricBinding } from "../engine/bind.ts";
import { METRIC, METRIC_MEAN } from "../engine/metric.ts";
import { metricAtSlots } from "./slots.ts";
import type { MetricKind } from "../engine/spec.ts";
import { InputError, RuntimeError } from "../errors/index.ts";
import { type Graph, GraphBuilder, type Value } from "../graph/index.ts";
import type { ModelConfig, Weights } from "../model/index.ts";
import type { SessionCache } from "../runtime/index.ts";
import { checkMetric, checkValues } from "../runtime/finite.ts";
import { feeds } from "../runtime/forward.ts";
import { makeBatch } from "../runtime/batch.ts";
import { type HostTensor, numel, sameShape, shapeString } from "../tensor/index.ts";
import { buildTransformerGraph } from "../transformer/index.ts";
import { leafName } from "../transformer/sites.ts";
import { type CompactSources, compactSites } from "./compact.ts";
import { type EdgeLayout, kvPerQueryHead, kvSlots } from "../edges/layout.ts";

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
 * J_normᵀ is never applied to a [b, n, p, d] tensor: it is folded into W_X and into low-rank
 * corrections contracted with Δ (see the q/k/v columns below), so the norm costs no pass over the
 * big tensors. The contraction over batch, positions and d is a few large GEMMs [S_i, b·p·d] ·
 * [b·p·d, N_j] over blocks of layers. The metric reads the logits at its slots only, so the
 * unembedding runs there (forward and backward), not at every position. The graph returns
 * `edges.attribution` [S, D] = Σ_b Δᵀ G (batch-summed gradient of the batch-mean metric w.r.t.
 * the mask) — identical to the mask gradient of the edge-masked graph (a test checks it).
 */
export const EDGE_ATTRIBUTION = "edges.attribution";
/** The compact z′ inputs (see compact.ts): edges.ablated.input, edges.ablated.attn.{l}, edges.ablated.mlp.{l}. */
export const ablatedInput = (part: string): string => `edges.ablated.${part}`;
/** With `embed: true`, the token embeddings [batch, pos, d] are this input (EAP-IG's interpolation). */
export const EDGE_EMBED = "edges.embed";

/**
 * The key prefix of the fused attribution graph's sessions in a SessionCache (EAP, EAP-IG over
 * inputs): `cache.evict(EDGE_ATTRIBUTION_SESSIONS)` releases them once the scores are in.
 */
export const EDGE_ATTRIBUTION_SESSIONS = "edge-attribution:";

/** Float32 weight bytes from which the fused attribution graph is optimized at ORT's "basic" level. */
const BASIC_FROM_BYTES = 100 * 1024 * 1024;

/**
 * ORT's optimization level for the fused attribution graph. On GPT-2 small (≈ 500 MB of weights)
 * "all" took 4–6× longer than "basic" to create the session (15.5 s against 2.6 s, loaded machine)
 * for runs no faster (interleaved: 30.4 s against 28.2 s, 19.1 s against 17.0 s); on stories260K
 * creation costs the same and "all" runs 7–9% faster (its run is overhead-bound, fusions help). The
 * cut between the two sizes is not tuned.
 */
const attributionOptimization = (w: Weights): "basic" | "all" => {
  let bytes = 0;
  for (const t of w.values()) bytes += numel(t.shape) * 4;
  return bytes >= BASIC_FROM_BYTES ? "basic" : "all";
};

/** A key/value weight [H_kv, …] repeated for the query heads of each group: [H, …], head h ← ⌊h/G⌋. */
const repeatKvHeads = (t: HostTensor, c: ModelConfig): HostTensor => {
  const per = t.data.length / c.nKvHeads;
  const G = c.nHeads / c.nKvHeads;
  const out = new Float32Array(c.nHeads * per);
  for (let h = 0; h < c.nHeads; h++)
    out.set(t.data.subarray(Math.floor(h / G) * per, (Math.floor(h / G) + 1) * per), h * per);
  return { data: out, shape: [c.nHeads, ...t.shape.slice(1)] };
};

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
  // head-qkv under GQA: k, v (and their leaf gradients) per query head, W_K, W_V repeated to match
  const ungrouped = kvPerQueryHead(c, layout.granularity);
  const headResults = c.postNorms === true && layout.granularity !== "layer";
  const { builder, final } = buildTransformerGraph(c, w, {
    hooks: {
      kvPerQueryHead: ungrouped,
      // post-norm heads are read as attn.result (compact.ts), which the fused path then builds
      touched: new Set([...leaves, ...(embed ? ["embed"] : []), ...(headResults ? compact.attn : [])]),
      at: (site, value, b) => {
        if (embed && site === "embed") return b.input(EDGE_EMBED, "float32", ["batch", "pos", d]);
        if (watched.has(site)) seen.set(site, value.name);
        return value;
      },
    },
    leaves,
    logits: false,
  });
  const m = metricAtSlots(builder, c, w, metric, final);
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
  const [B, P, BP, K] = ["batch", "pos", "batch·pos", "batch·pos·d"] as const;
  const L = c.nLayers;
  /** A·Bᵀ for A [m, k], B [n, k] → [m, n] (the contractions run over k = b·p·d or b·p). */
  const gemmT = (a: Value, b: Value): Value =>
    g.node("Gemm", [a, b], "float32", [a.shape[0]!, b.shape[0]!], { transB: { kind: "int", value: 1 } });

  // Δ per source group in source order, as rows [k, b·p·d] (grouped by layer block) and by
  // position [b·p, k, d]; heads: Δ_h = (z_h − z′_h)·W_O[h]. Layers fall in nb blocks: destinations
  // of block j read sources of blocks i ≤ j only, so the GEMMs of blocks i > j are skipped.
  const nb = Math.min(2, L);
  const blockOf = (l: number) => Math.floor((l * nb) / L);
  const rows: Value[][] = Array.from({ length: nb }, () => []);
  const byPos: Value[] = [];
  const stream = (site: string, input: string, l: number) => {
    const delta = g.sub(at(site), g.input(input, "float32", [B, P, d])); //          [b, p, d]
    rows[blockOf(l)]!.push(g.reshape(delta, [1, K]));
    byPos.push(g.reshape(delta, [BP, 1, d]));
  };
  stream(compact.input, ablatedInput("input"), 0);
  for (let l = 0; l < L; l++) {
    if (layout.granularity !== "layer") {
      // heads: Δ_h = (z_h − z′_h)·W_O[h]; post-norms: result_h − result′_h as they are (compact.ts)
      const [H, e] = [c.nHeads, headResults ? d : c.dHead];
      const dz = g.sub(at(compact.attn[l]!), g.input(ablatedInput(`attn.${l}`), "float32", [B, P, H, e]));
      const perHead = g.reshape(g.transpose(dz, [2, 0, 1, 3]), [H, BP, e]);
      const WO = () => g.weight(`attr.blocks.${l}.W_O`, w.get(`blocks.${l}.attn.W_O`)!); // [H, dh, d]
      const heads = headResults ? perHead : g.matmul(perHead, WO()); //                 [H, b·p, d]
      rows[blockOf(l)]!.push(g.reshape(heads, [H, K]));
      byPos.push(g.transpose(heads, [1, 0, 2]));
    } else stream(compact.attn[l]!, ablatedInput(`attn.${l}`), l);
    if (c.dMlp !== null) stream(compact.mlp[l]!, ablatedInput(`mlp.${l}`), l);
  }
  const deltas = rows.map((r) => (r.length === 1 ? r[0]! : g.concat(r, 0))); //       [S_i, b·p·d] per block
  const nRows = deltas.map((x) => x.shape[0] as number);
  if (nRows.reduce((a, b) => a + b, 0) !== S) throw new Error(`edge attribution: Δ rows ≠ ${S} sources`);

  // Norm terms. σ_l, x̂_l of layer l's input; Dx[c, s, b·p] = Σ_d Δ_s ⊙ X̂_c with the columns
  // X̂ = [1 (LayerNorm only), x̂_0 … x̂_{L−1}]: one batched GEMM for all layers.
  const hasNorm = c.norm !== "none";
  const ln = c.norm === "layernorm";
  const inv: Value[] = []; //                                                        1/σ_l [b, p, 1]
  const xhat: Value[] = []; //                                                       x̂_l [b, p, d]
  let Dx: Value | null = null; //                                                    [L′, S, b·p]
  if (hasNorm) {
    const eps = g.scalar(c.normEps);
    for (let l = 0; l < L; l++) {
      const x = at(`blocks.${l}.resid_pre`);
      const centered = ln ? g.sub(x, g.reduceMean(x, [-1])) : x;
      const sigma = g.sqrt(g.add(g.reduceMean(g.mul(centered, centered), [-1]), eps));
      inv.push(g.div(g.scalar(1), sigma));
      xhat.push(g.div(centered, sigma));
    }
    const cols = xhat.map((x) => g.reshape(x, [BP, d, 1]));
    if (ln) cols.unshift(g.expand(g.reshape(g.scalar(1), [1, 1, 1]), [BP, d, 1], cols[0]!));
    const X = g.concat(cols, 2); //                                                  [b·p, d, L′]
    const perPiece = byPos.map((piece) => g.matmul(piece, X)); //                    [b·p, k, L′]
    Dx = g.transpose(perPiece.length === 1 ? perPiece[0]! : g.concat(perPiece, 1), [2, 1, 0]);
  }
  const dxColumn = (i: number) => g.reshape(g.slice(Dx!, 0, i, i + 1), [S, BP]); //  [S, b·p]

  // q/k/v columns: Ũ = ĝ·W′ with ĝ = (∂m/∂X_h)/σ and W′ = W_X[h]ᵀ ⊙ w, i.e. Ũ = w ⊙ (W_X[h]·∂m/∂X_h)/σ,
  // and J_normᵀ U = Ũ − mean_d(Ũ) − x̂ ⊙ mean_d(Ũ ⊙ x̂), so, summed with Δ over b, p, d,
  //   Δᵀ J_normᵀ U = Δᵀ Ũ − Σ_{b,p} (Σ_d Δ) α − Σ_{b,p} (Σ_d Δ ⊙ x̂) β      (RMSNorm: no α term)
  //   α = mean_d(Ũ) = ĝ · mean_d(W′),   β = mean_d(Ũ ⊙ x̂) = ĝ · ((w ⊙ x̂)·W_X[h]) / d
  // with (w ⊙ x̂)·W_X[h] = X − X₀ (X the site's value, X₀ = b_ln·W_X + b_X its value at x̂ = 0).
  // Only Ũ is [n, b·p, d] (one batched MatMul per block); α, β are [n, b·p], and Σ_d Δ and
  // Σ_d Δ ⊙ x̂ come from Dx.
  const ghat: Value[][] = Array.from({ length: nb }, () => []); //                   [h, b·p, dh] each
  const wprime: Value[][] = Array.from({ length: nb }, () => []); //                 [h, dh, d] each
  const alpha: Value[] = [];
  const betaTerms: Value[] = []; //                                                  per layer [S, n]
  for (let l = 0; l < L; l++) {
    const betas: Value[] = [];
    for (const s of ["q", "k", "v"] as const) {
      const X = s.toUpperCase();
      const h = s === "q" ? c.nHeads : kvSlots(c, layout.granularity);
      const perQuery = (t: HostTensor) => (s !== "q" && ungrouped ? repeatKvHeads(t, c) : t);
      const WX = g.weight(`attr.blocks.${l}.W_${X}`, perQuery(w.get(`blocks.${l}.attn.W_${X}`)!)); // [h, d, dh]
      let Wp = g.transpose(WX, [0, 2, 1]); //                                         [h, dh, d]
      let gx = grad(`blocks.${l}.attn.${s}`); //                                      [b, p, h, dh]
      if (hasNorm) {
        Wp = g.mul(Wp, g.weight(`blocks.${l}.ln1.w`, w.get(`blocks.${l}.ln1.w`)!));
        gx = g.mul(gx, g.unsqueeze(inv[l]!, -1));
      }
      const gh = g.reshape(g.transpose(gx, [2, 0, 1, 3]), [h, BP, c.dHead]);
      ghat[blockOf(l)]!.push(gh);
      wprime[blockOf(l)]!.push(Wp);
      if (ln) alpha.push(g.reshape(g.matmul(gh, g.reduceMean(Wp, [-1])), [h, BP]));
      if (hasNorm) {
        let X0: Value | null = null; //                                               [h, dh]
        const bln = w.get(`blocks.${l}.ln1.b`);
        if (ln && bln !== undefined) {
          const b = g.weight(`attr.blocks.${l}.ln1.b`, { data: bln.data, shape: [1, d] });
          X0 = g.reshape(g.matmul(b, WX), [h, c.dHead]);
        }
        const bx = w.get(`blocks.${l}.attn.b_${X}`);
        if (bx !== undefined) {
          const b = g.weight(
            `attr.blocks.${l}.b_${X}`,
            perQuery({ data: bx.data, shape: [bx.data.length / c.dHead, c.dHead] }),
          );
          X0 = X0 === null ? b : g.add(X0, b);
        }
        const site = g.get(leafName(`blocks.${l}.attn.${s}`));
        const xw = X0 === null ? site : g.sub(site, X0); //                            [b, p, h, dh]
        const beta = g.mul(g.reduceSum(g.mul(gx, xw), [-1], false), g.scalar(1 / d)); // [b, p, h]
        betas.push(g.reshape(g.transpose(beta, [2, 0, 1]), [h, BP]));
      }
    }
    if (hasNorm) betaTerms.push(gemmT(dxColumn(l + (ln ? 1 : 0)), g.concat(betas, 0)));
  }
  const U = ghat.map((gh, j) => {
    const u = g.matmul(g.concat(gh, 0), g.concat(wprime[j]!, 0)); //                   [N_j, b·p, d]
    return g.reshape(u, [u.shape[0]!, K]);
  });
  const nCols = U.map((u) => u.shape[0] as number);
  const zeros = (i: number, j: number) =>
    g.weight(`attr.zeros.${i}.${j}`, {
      data: new Float32Array(nRows[i]! * nCols[j]!),
      shape: [nRows[i]!, nCols[j]!],
    });
  let qkv = g.concat(
    deltas.map((di, i) =>
      g.concat(
        U.map((u, j) => (i <= j ? gemmT(di, u) : zeros(i, j))),
        1,
      ),
    ),
    0,
  ); //                                                                              [S, N]
  if (ln) qkv = g.sub(qkv, gemmT(dxColumn(0), g.concat(alpha, 0)));
  if (hasNorm) qkv = g.sub(qkv, g.concat(betaTerms, 1));
  if (layout.granularity === "layer") {
    const n = c.nHeads + 2 * c.nKvHeads;
    qkv = g.reduceSum(g.reshape(qkv, [S, L, n]), [2], false); //                      [S, L]
  }

  // m{l} and logits: G = ∂m/∂mlp_in, ∂m/∂resid_post (autodiff's, norms included), stacked.
  const plain = [
    ...(c.dMlp !== null ? Array.from({ length: L }, (_, l) => grad(`blocks.${l}.mlp_in`)) : []),
    grad(`blocks.${L - 1}.resid_post`),
  ].map((x) => g.reshape(x, [1, K]));
  const Gp = g.concat(plain, 0);
  const rest = g.concat(
    deltas.map((di) => gemmT(di, Gp)),
    0,
  ); //                                                                              [S, L + 1]

  // Every (source, destination) pair was computed: gather the destinations' columns in layout
  // order and zero the sources downstream of each destination.
  const nQkv = qkv.shape[1] as number;
  let nextQkv = 0;
  let nextRest = 0;
  const D = layout.destinations.length;
  const index = layout.destinations.map((x) =>
    x.kind === "mlp" || x.kind === "logits" ? nQkv + nextRest++ : nextQkv++,
  );
  const mask = new Float32Array(S * D);
  layout.destinations.forEach((x, j) => {
    for (let s = 0; s < x.nSources; s++) mask[s * D + j] = 1;
  });
  const all = g.gather(g.concat([qkv, rest], 1), g.int64s(index, [D], "columns"), 1); // [S, D]
  const scores = g.mul(all, g.weight("attr.upstream", { data: mask, shape: [S, D] }));
  g.output(g.named(scores, EDGE_ATTRIBUTION));
  return g.build();
};

/**
 * Run it on a batch: ∂(batch-mean metric)/∂m_uv at m = 1 summed over the batch, [S·D] in the
 * layout's dense mask order, and the metric. z′ in compact form (compactAblated).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Edges, Patching, Runtime } from "@patchbay/core";
 * import { inductionTask } from "@patchbay/zoo";
 * import { Effect } from "effect";
 *
 * const task = inductionTask(0, 4);
 * const { gradient, layout } = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.gen(function* () {
 *       const model = yield* Runtime.openModel("builtin:induction");
 *       const layout = Edges.edgeLayout(model.config);
 *       const zPrime = yield* Patching.compactAblated(model.sessions, model, layout, "resample", task.clean, {
 *         corrupted: task.corrupted,
 *       });
 *       const binding = { positions: task.positions, answers: task.answers, wrong: task.wrong };
 *       const r = yield* Patching.edgeAttribution(model.sessions, model, layout, "logit-diff", task.clean, zPrime, binding);
 *       return { gradient: r.gradient, layout };
 *     }),
 *   ),
 * );
 * // EAP scores [sources · destinations]; the top one feeds the induction head a1.h2 the token it copies
 * const best = layout.edges.reduce((a, e) =>
 *   Math.abs(gradient[Edges.maskIndex(layout, e)]!) > Math.abs(gradient[Edges.maskIndex(layout, a)]!) ? e : a,
 * );
 * assert.equal(gradient.length, layout.sources.length * layout.destinations.length);
 * assert.equal(best.name, "input->a1.h2<v>");
 * ```
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
        const batch = makeBatch(c, seqs, "ids", cache.options);
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
            layout.granularity === "layer"
              ? [c.dModel]
              : [c.nHeads, c.postNorms === true ? c.dModel : c.dHead],
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
    const session = yield* cache.get(
      `${EDGE_ATTRIBUTION_SESSIONS}${layout.granularity}:${metric}:${withEmbed}`,
      () => edgeAttributionGraph(c, model.weights, layout, metric, withEmbed),
      { optimization: attributionOptimization(model.weights) },
    );
    const base = feeds(
      batch,
      session.inputNames.filter((n) => !(n in bound)),
    );
    const out = yield* Effect.tryPromise({
      try: () => session.run({ ...base, ...bound }),
      catch: (cause) => new RuntimeError({ model: cache.model, operation: "edge attribution", cause }),
    });
    const gradient = out[EDGE_ATTRIBUTION]!.data as Float32Array;
    const perExample = out[METRIC]!.data as Float32Array;
    // the same promise as every engine run: a metric or a score that is not finite is an error
    const mean = perExample.reduce((a, x) => a + x, 0) / perExample.length;
    const bad = checkMetric(cache.model, "edge attribution", perExample, mean);
    if (bad !== null) return yield* bad;
    const badScore = checkValues(cache.model, "edge attribution", "edge score gradient", gradient);
    if (badScore !== null) return yield* badScore;
    return { gradient, perExample };
  });
