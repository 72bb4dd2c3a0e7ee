import { gradients, gradName } from "../autodiff/index.ts";
import { METRIC, METRIC_MEAN } from "../engine/metric.ts";
import { metricAtSlots } from "./slots.ts";
import type { MetricKind } from "../engine/spec.ts";
import { type Dim, type Graph, GraphBuilder, type Value } from "../graph/index.ts";
import type { ModelConfig, Weights } from "../model/index.ts";
import type { HostTensor } from "../tensor/index.ts";
import { buildTransformerGraph } from "../transformer/index.ts";
import { leafName } from "../transformer/sites.ts";
import { compactSites } from "./compact.ts";
import { deltaInput, EXAMPLES, interpolatedEmbed, splitRows, stepCount } from "./attribution-steps.ts";
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
 * `edges.attribution` [E, S, D] = Δ_eᵀ G_e per example e (its own metric's mask gradient; the
 * backward is seeded with ones on the per-example metric and no contraction crosses examples), whose
 * mean over the batch is the mask gradient of the edge-masked graph (a test checks it).
 */
export const EDGE_ATTRIBUTION = "edges.attribution";
/** The compact z′ inputs (see compact.ts): edges.ablated.input, edges.ablated.attn.{l}, edges.ablated.mlp.{l}. */
export const ablatedInput = (part: string): string => `edges.ablated.${part}`;
/** In mode "embed", the token embeddings [batch, pos, d] are this input. */
export const EDGE_EMBED = "edges.embed";
/**
 * plain: EAP, z′ as inputs (ablatedInput). embed: the same with the token embeddings as an input.
 * ig-inputs: EAP-IG over inputs, Δ per example as inputs and the steps summed in the graph
 * (attribution-steps.ts).
 */
export type AttributionMode = "plain" | "embed" | "ig-inputs";

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
  mode: AttributionMode = "plain",
): Graph => {
  const ig = mode === "ig-inputs";
  const S = layout.sources.length;
  const d = c.dModel;
  const compact = compactSites(c, layout);
  const sourceSites = [compact.input, ...compact.attn, ...compact.mlp.filter((x): x is string => x !== null)];
  const residPre = Array.from({ length: c.nLayers }, (_, l) => `blocks.${l}.resid_pre`);
  const leaves = leafSites(c);
  // Forward (the fused path: attn.z and mlp_out are sites it has anyway), value names recorded.
  const watched = new Set([...(ig ? [] : sourceSites), ...residPre]);
  const seen = new Map<string, string>();
  // head-qkv under GQA: k, v (and their leaf gradients) per query head, W_K, W_V repeated to match
  const ungrouped = kvPerQueryHead(c, layout.granularity);
  const headResults = c.postNorms === true && layout.granularity !== "layer";
  const { builder, final } = buildTransformerGraph(c, w, {
    hooks: {
      kvPerQueryHead: ungrouped,
      // post-norm heads are read as attn.result (compact.ts), which the fused path then builds
      touched: new Set([
        ...leaves,
        ...(mode === "plain" ? [] : ["embed"]),
        ...(headResults ? compact.attn : []),
      ]),
      at: (site, value, b) => {
        if (mode === "embed" && site === "embed") return b.input(EDGE_EMBED, "float32", ["batch", "pos", d]);
        if (ig && site === "embed") return interpolatedEmbed(b, w, value);
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
  // Seeded with ones on the per-example metric: the gradient of Σ_rows metric, so each example's
  // G_v is its own ∂metric_e/∂in_v, whatever else is in the batch.
  const withGrads = gradients(builder.build(), METRIC, leaves.map(leafName)).graph;

  const g = GraphBuilder.from(withGrads);
  const keep = new Set([METRIC, METRIC_MEAN]);
  g.dropOutputs((n) => !keep.has(n));
  const grad = (site: string) => g.get(gradName(leafName(site)));
  const at = (site: string) => g.get(seen.get(site)!);
  const [P, PD] = ["pos", "pos·d"] as const;
  // per-example tensors: the rows, or (ig-inputs) the examples (Δ, Ũ and G summed over the steps)
  const E = ig ? EXAMPLES : "batch";
  const EP = `${E}·pos`;
  const L = c.nLayers;
  // E and p at run time, [1] int64 each, read off the first Δ (the input's, declared first below)
  let first: Value | null = null;
  let sizes: { E: Value; P: Value } | null = null;
  const size = (which: "E" | "P"): Value => {
    if (sizes === null) {
      const s = g.shapeOf(first!);
      sizes = { E: g.gather(s, g.int64s([0], [1], "dim"), 0), P: g.gather(s, g.int64s([1], [1], "dim"), 0) };
    }
    return sizes[which];
  };
  /** x reshaped to `shape`, given as numbers (−1: the one rest) and the run's E and p */
  const reshapeTo = (x: Value, parts: readonly (number | "E" | "P")[], shape: readonly Dim[]): Value => {
    const pieces = parts.map((p) => (typeof p === "number" ? g.int64s([p], [1], "dim") : size(p)));
    const spec = g.node("Concat", pieces, "int64", [parts.length], { axis: { kind: "int", value: 0 } });
    return g.node("Reshape", [x, spec], x.dtype, shape);
  };

  // Δ per source group in source order, as rows [k, E, p·d] (grouped by layer block) and by
  // position [E, p, k, d]; heads: Δ_h = (z_h − z′_h)·W_O[h], one GEMM per head over all examples. Layers fall in nb blocks: destinations
  // of block j read sources of blocks i ≤ j only, so the GEMMs of blocks i > j are skipped.
  const nb = Math.min(2, L);
  const blockOf = (l: number) => Math.floor((l * nb) / L);
  const rows: Value[][] = Array.from({ length: nb }, () => []);
  const byPos: Value[] = [];
  /** Δ of one part: z − z′ in the graph, or (ig-inputs) the input itself. */
  const deltaOf = (site: string, part: string, rest: readonly number[]) =>
    ig
      ? g.input(deltaInput(part), "float32", [E, P, ...rest])
      : g.sub(at(site), g.input(ablatedInput(part), "float32", [E, P, ...rest]));
  const stream = (site: string, part: string, l: number) => {
    const delta = deltaOf(site, part, [d]); //                                      [E, p, d]
    first ??= delta;
    rows[blockOf(l)]!.push(g.unsqueeze(g.reshape(delta, [E, PD]), 0));
    byPos.push(g.unsqueeze(delta, 2));
  };
  stream(compact.input, "input", 0);
  for (let l = 0; l < L; l++) {
    if (layout.granularity !== "layer") {
      // heads: Δ_h = (z_h − z′_h)·W_O[h]; post-norms: result_h − result′_h as they are (compact.ts)
      const [H, e] = [c.nHeads, headResults ? d : c.dHead];
      const dz = deltaOf(compact.attn[l]!, `attn.${l}`, [H, e]); //                 [E, p, H, e]
      const perHead = g.reshape(g.transpose(dz, [2, 0, 1, 3]), [H, EP, e]); //      [H, E·p, e]
      const WO = () => g.weight(`attr.blocks.${l}.W_O`, w.get(`blocks.${l}.attn.W_O`)!); // [H, dh, d]
      const heads = headResults ? perHead : g.matmul(perHead, WO()); //              [H, E·p, d]
      rows[blockOf(l)]!.push(reshapeTo(heads, [H, "E", -1], [H, E, PD]));
      byPos.push(reshapeTo(g.transpose(heads, [1, 0, 2]), ["E", "P", H, d], [E, P, H, d]));
    } else stream(compact.attn[l]!, `attn.${l}`, l);
    if (c.dMlp !== null) stream(compact.mlp[l]!, `mlp.${l}`, l);
  }
  const deltas = rows.map((r) => (r.length === 1 ? r[0]! : g.concat(r, 0))); //      [S_i, E, p·d] per block
  const nRows = deltas.map((x) => x.shape[0] as number);
  if (nRows.reduce((a, b) => a + b, 0) !== S) throw new Error(`edge attribution: Δ rows ≠ ${S} sources`);
  // ig-inputs: steps = rows / examples, read off the Δ inputs declared above
  const steps = ig ? stepCount(g, g.get(deltaInput("input"))) : null;
  const examples = ig
    ? g.gather(g.shapeOf(g.get(deltaInput("input"))), g.int64s([0], [1], "first"), 0)
    : null;
  /** ig-inputs: rows [steps·E, …] (step-major) as [steps, E, …] */
  const byStep = (x: Value): Value => splitRows(g, steps!, examples!, x);
  /** a per-row tensor [rows, …] per example [E, …]: ig-inputs sums it over the steps */
  const perExample = (x: Value): Value => (steps === null ? x : g.reduceSum(byStep(x), [0], false));

  // Norm terms. σ_l, x̂_l of layer l's input (per row); Dx[c, e, s, ·] = Σ_d Δ_s ⊙ X̂_c with the
  // columns X̂ = [1 (LayerNorm only), x̂_0 … x̂_{L−1}]: one batched MatMul for all layers. Its last
  // axis is the positions (ig-inputs: steps × positions, as x̂ depends on the step).
  const hasNorm = c.norm !== "none";
  const ln = c.norm === "layernorm";
  // the ones column gives Σ_d Δ per row; ig-inputs takes it per example (sumD) for the α-term
  const ones = ln && !ig;
  const SP = ig ? "steps·pos" : P;
  const inv: Value[] = []; //                                                        1/σ_l [rows, p, 1]
  const xhat: Value[] = []; //                                                       x̂_l [rows, p, d]
  let Dx: Value | null = null; //                                                    [L′, E, S, SP]
  if (hasNorm) {
    const eps = g.scalar(c.normEps);
    for (let l = 0; l < L; l++) {
      const x = at(`blocks.${l}.resid_pre`);
      const centered = ln ? g.sub(x, g.reduceMean(x, [-1])) : x;
      const sigma = g.sqrt(g.add(g.reduceMean(g.mul(centered, centered), [-1]), eps));
      inv.push(g.div(g.scalar(1), sigma));
      xhat.push(g.div(centered, sigma));
    }
    const cols = xhat.map((x) => g.unsqueeze(x, 3)); //                              [rows, p, d, 1]
    if (ones) cols.unshift(g.expand(g.reshape(g.scalar(1), [1, 1, 1, 1]), [E, P, d, 1], cols[0]!));
    const X = g.concat(cols, 3); //                                                  [rows, p, d, L′]
    const Lp = cols.length;
    if (steps === null) {
      const all = g.concat(
        byPos.map((piece) => g.matmul(piece, X)),
        2,
      ); //         [E, p, S, L′]
      Dx = g.transpose(all, [3, 0, 2, 1]);
    } else {
      // Δ per example [E, p, k, d] against x̂ per row [steps, E, p, d, L′] (broadcast over steps)
      const Xs = byStep(X);
      const all = g.concat(
        byPos.map((piece) => g.matmul(piece, Xs)),
        3,
      ); //        [steps, E, p, S, L′]
      Dx = g.reshape(g.transpose(all, [4, 1, 3, 0, 2]), [Lp, E, S, SP]);
    }
  }
  /** column i of Dx, [E, S, SP] */
  const dxColumn = (i: number) => g.gather(Dx!, g.int64s([i], [], "column"), 0);
  // Σ_d Δ [E, S, p] per example (ig-inputs' α-term)
  const sumD =
    ig && ln
      ? g.transpose(
          g.concat(
            byPos.map((piece) => g.reduceSum(piece, [-1], false)),
            2,
          ),
          [0, 2, 1],
        )
      : null;

  // q/k/v columns: Ũ = ĝ·W′ with ĝ = (∂m/∂X_h)/σ and W′ = W_X[h]ᵀ ⊙ w, i.e. Ũ = w ⊙ (W_X[h]·∂m/∂X_h)/σ,
  // and J_normᵀ U = Ũ − mean_d(Ũ) − x̂ ⊙ mean_d(Ũ ⊙ x̂), so, summed with Δ over p and d,
  //   Δᵀ J_normᵀ U = Δᵀ Ũ − Σ_p (Σ_d Δ) α − Σ_p (Σ_d Δ ⊙ x̂) β      (RMSNorm: no α term)
  //   α = mean_d(Ũ) = ĝ · mean_d(W′),   β = mean_d(Ũ ⊙ x̂) = ĝ · ((w ⊙ x̂)·W_X[h]) / d
  // with (w ⊙ x̂)·W_X[h] = X − X₀ (X the site's value, X₀ = b_ln·W_X + b_X its value at x̂ = 0).
  // Only Ũ is [E, n, p, d] (one batched MatMul per block); α, β are [E, p, n], and Σ_d Δ and
  // Σ_d Δ ⊙ x̂ come from Dx. Every contraction is per example (batched over E), never across.
  const ghat: Value[][] = Array.from({ length: nb }, () => []); //                   [h, E·p, dh] each
  const wprime: Value[][] = Array.from({ length: nb }, () => []); //                 [h, dh, d] each
  const alpha: Value[] = []; //                                                      [h, E·p, 1] each
  const betaTerms: Value[] = []; //                                                  per layer [E, S, n]
  for (let l = 0; l < L; l++) {
    const betas: Value[] = []; //                                                    [rows, p, h] each
    for (const s of ["q", "k", "v"] as const) {
      const X = s.toUpperCase();
      const h = s === "q" ? c.nHeads : kvSlots(c, layout.granularity);
      const perQuery = (t: HostTensor) => (s !== "q" && ungrouped ? repeatKvHeads(t, c) : t);
      const WX = g.weight(`attr.blocks.${l}.W_${X}`, perQuery(w.get(`blocks.${l}.attn.W_${X}`)!)); // [h, d, dh]
      let Wp = g.transpose(WX, [0, 2, 1]); //                                         [h, dh, d]
      let gx = grad(`blocks.${l}.attn.${s}`); //                                      [rows, p, h, dh]
      if (hasNorm) {
        Wp = g.mul(Wp, g.weight(`blocks.${l}.ln1.w`, w.get(`blocks.${l}.ln1.w`)!));
        gx = g.mul(gx, g.unsqueeze(inv[l]!, -1));
      }
      // ig-inputs: Ũ and α are linear in ĝ, so ĝ is summed over the steps first
      const gh = g.reshape(g.transpose(perExample(gx), [2, 0, 1, 3]), [h, EP, c.dHead]); // [h, E·p, dh]
      ghat[blockOf(l)]!.push(gh);
      wprime[blockOf(l)]!.push(Wp);
      if (ln) alpha.push(g.matmul(gh, g.reduceMean(Wp, [-1])));
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
        const xw = X0 === null ? site : g.sub(site, X0); //                            [rows, p, h, dh]
        betas.push(g.mul(g.reduceSum(g.mul(gx, xw), [-1], false), g.scalar(1 / d)));
      }
    }
    if (hasNorm) {
      const beta = g.concat(betas, 2); //                                             [rows, p, n]
      const n = beta.shape[2] as number;
      const perRow = steps === null ? beta : g.reshape(g.transpose(byStep(beta), [1, 0, 2, 3]), [E, SP, n]);
      betaTerms.push(g.matmul(dxColumn(l + (ones ? 1 : 0)), perRow)); //               [E, S, n]
    }
  }
  const U = ghat.map((gh, j) => {
    const u = g.matmul(g.concat(gh, 0), g.concat(wprime[j]!, 0)); //                  [N_j, E·p, d]
    return reshapeTo(u, [u.shape[0] as number, "E", -1], [u.shape[0]!, E, PD]); //   [N_j, E, p·d]
  });
  const nCols = U.map((u) => u.shape[0] as number);
  const zeros = (i: number, j: number) =>
    g.expand(
      g.weight(`attr.zeros.${i}.${j}`, {
        data: new Float32Array(nRows[i]! * nCols[j]!),
        shape: [1, nRows[i]!, nCols[j]!],
      }),
      [E, nRows[i]!, nCols[j]!],
      deltas[i]!,
    );
  let qkv = g.concat(
    deltas.map((di, i) =>
      g.concat(
        U.map((u, j) => (i <= j ? g.matmulPerExample(di, u) : zeros(i, j))),
        2,
      ),
    ),
    1,
  ); //                                                                              [E, S, N]
  if (ln) {
    const a = g.concat(alpha, 0); //                                                 [N, E·p, 1]
    const perPos = g.transpose(
      reshapeTo(a, [a.shape[0] as number, "E", "P"], [a.shape[0]!, E, P]),
      [1, 2, 0],
    ); // [E, p, N]
    qkv = g.sub(qkv, g.matmul(sumD ?? dxColumn(0), perPos));
  }
  if (hasNorm) qkv = g.sub(qkv, g.concat(betaTerms, 2));
  if (layout.granularity === "layer") {
    const n = c.nHeads + 2 * c.nKvHeads;
    qkv = g.reduceSum(g.reshape(qkv, [E, S, L, n]), [3], false); //                  [E, S, L]
  }

  // m{l} and logits: G = ∂m/∂mlp_in, ∂m/∂resid_post (autodiff's, norms included), stacked.
  const plain = [
    ...(c.dMlp !== null ? Array.from({ length: L }, (_, l) => grad(`blocks.${l}.mlp_in`)) : []),
    grad(`blocks.${L - 1}.resid_post`),
  ].map((x) => g.unsqueeze(g.reshape(perExample(x), [E, PD]), 0));
  const Gp = g.concat(plain, 0); //                                                  [L + 1, E, p·d]
  const rest = g.concat(
    deltas.map((di) => g.matmulPerExample(di, Gp)),
    1,
  ); //                                                                              [E, S, L + 1]

  // Every (source, destination) pair was computed: gather the destinations' columns in layout
  // order and zero the sources downstream of each destination.
  const nQkv = qkv.shape[2] as number;
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
  const all = g.gather(g.concat([qkv, rest], 2), g.int64s(index, [D], "columns"), 2); // [E, S, D]
  const scores = g.mul(all, g.weight("attr.upstream", { data: mask, shape: [S, D] }));
  g.output(g.named(scores, EDGE_ATTRIBUTION));
  return g.build();
};
