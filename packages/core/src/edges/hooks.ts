import type { Dim, GraphBuilder, Value } from "../graph/index.ts";
import type { ModelConfig } from "../model/index.ts";
import type { SiteHooks } from "../transformer/index.ts";
import { type EdgeLayout, kvPerQueryHead, kvSlots } from "./layout.ts";

/**
 * Edge patching by data (docs/methods.md#edge-patching, as AutoCircuit and EAP-IG). Two graph inputs:
 *   edges.mask     [batch, S, D]          m_uv ∈ [0, 1], one mask per example row
 *   edges.ablated  [batch, pos, S, d]     z′_u, each source's output under the ablation
 * and at every destination v
 *   in_v = in_v(current) − Σ_u (1 − m_uv)(z_u(current) − z′_u)
 * m = 1 reproduces the clean run, m = 0 the ablated one; a batch of masks evaluates many circuits
 * in one run, and changing them never recompiles. Entries (u, v) with u not upstream of v are
 * never read.
 *
 * Where the values live (canonical sites):
 *   input  = blocks.0.resid_pre (embed + pos_embed)     a{l}.h{h} = blocks.l.attn.result[:, :, h]
 *   a{l}   = blocks.l.attn_out (layer granularity)       m{l} = blocks.l.mlp_out
 *   a{l}.h{h}<q|k|v> = blocks.l.attn.{q,k,v}_input[:, :, h]   (each head normalises its own input)
 *   a{l}.kv{j}<k|v>  = blocks.l.attn.{k,v}_input[:, :, j]      (GQA at head granularity)
 *   head-qkv under GQA: k_input / v_input (and k, v, rot_k) have one slot per query head, the
 *   group's W_K / W_V applied to each head's own input (SiteHooks.kvPerQueryHead)
 *   a{l} (layer granularity) = q/k/v inputs of every head alike
 *   m{l} = blocks.l.mlp_in,   logits = blocks.{L−1}.resid_post (what ln_final reads)
 * attn.result excludes b_O and the constants cancel in z − z′, so resample ablation needs no
 * special case for biases; zero ablation of m{l} (or of a{l} at layer granularity) removes its
 * bias too, as in EAP-IG.
 * Post-norm models (Gemma 2): a{l}.h{h} is the head's share of ln1_post, z_h·W_O[h] / σ ⊙ w_post
 * with σ the layer's own normaliser in the same run (transformer/attention.ts), and m{l} is
 * mlp_out after ln2_post, so the stream is still input + Σ sources and nothing here changes.
 *
 * Cost: sources arrive in pieces (input, a layer's heads, an MLP). Each piece's Δ = z − z′ is
 * computed once, [b, p, k, d]; every destination group (a layer's q/k/v inputs, an MLP, the
 * logits) reads the Δ of all sources so far as one concatenation, extended group by group, and
 * adds Δᵀ·(1 − m) by one MatMul per example.
 *
 * Downstream of layer L (`edgeHooks(c, layout, L)`, the graph built `from` L's resid_pre, or from
 * the last resid_post for L = nLayers): when no mask removes an edge into a destination before L,
 * everything upstream of L is the clean run, so the S_L sources before L have a constant
 * Δ_u = z_u(clean) − z′_u per example. Rows are then example-major (row = example·T + trial, every
 * example with the same T trial masks) and the inputs are per example:
 *   edges.mask      [batch, S, D]              per row, as above
 *   edges.upstream  [examples, pos, S, d]      Δ of the sources, of which the S_L before L are read
 *   edges.ablated   [examples, pos, S, d]      z′, of which the sources computed in the run are read
 * (both as the host holds them, so a run copies neither; the graph slices and transposes)
 * Per destination group the upstream part is one GEMM per example, [T·n, S_L]·[S_L, pos·d], so
 * neither Δ nor z′ is ever copied per trial.
 */
export const EDGE_MASK = "edges.mask";
export const EDGE_ABLATED = "edges.ablated";
export const EDGE_UPSTREAM = "edges.upstream";
/**
 * Outputs of an edge graph built `from` L with `streams`: the run's own state for the next run
 * (masked-state.ts) — `edges.stream.<l>` [b, pos, d], the stream entering each layer l > L
 * (l = nLayers: the last resid_post, before the logits' edges act), and `edges.deltas`
 * [b, pos, S, d], every source's Δ: the upstream input's before L, the run's own from L (one
 * trial per example).
 */
export const edgeStreamOutput = (layer: number): string => `edges.stream.${layer}`;
export const EDGE_DELTAS = "edges.deltas";

/** Sources written before layer `layer` (all of them for layer = nLayers): the prefix [0, S_L). */
export const sourcesBefore = (layout: EdgeLayout, layer: number): number => {
  const i = layout.sources.findIndex((s) => s.layer !== null && s.layer >= layer);
  return i < 0 ? layout.sources.length : i;
};

/**
 * Reshape with dims known at run time: each entry a number, −1 (at most one: the rest), or
 * [value, axis] (that value's run-time dim). `shape` is the symbolic result.
 */
const reshapeDims = (
  g: GraphBuilder,
  x: Value,
  dims: readonly (number | readonly [Value, number])[],
  shape: readonly Dim[],
): Value => {
  const parts = dims.map((d) =>
    typeof d === "number"
      ? g.int64s([d], [1], "dim")
      : g.gather(g.shapeOf(d[0]), g.int64s([d[1]], [1], "index"), 0),
  );
  const target = g.node("Concat", parts, "int64", [dims.length], { axis: { kind: "int", value: 0 } });
  return g.node("Reshape", [x, target], x.dtype, shape);
};

/**
 * The canonical site holding each source's output: [name, head axis or null].
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
 * assert.deepEqual(Edges.sourceSite(layout, 3), { site: "blocks.0.attn.result", head: 2 }); // source a0.h2
 * ```
 */
export const sourceSite = (
  layout: EdgeLayout,
  s: number,
): { readonly site: string; readonly head: number | null } => {
  const src = layout.sources[s]!;
  switch (src.kind) {
    case "input":
      return { site: "blocks.0.resid_pre", head: null };
    case "head":
      return { site: `blocks.${src.layer}.attn.result`, head: src.head };
    case "attn":
      return { site: `blocks.${src.layer}.attn_out`, head: null };
    case "mlp":
      return { site: `blocks.${src.layer}.mlp_out`, head: null };
  }
};

/** The sites edge patching reads or changes (the builder materialises their general forms). */
export const edgeSites = (c: ModelConfig, layout: EdgeLayout): string[] => {
  const out = new Set<string>(["blocks.0.resid_pre", `blocks.${c.nLayers - 1}.resid_post`]);
  for (let l = 0; l < c.nLayers; l++) {
    for (const s of ["q_input", "k_input", "v_input"]) out.add(`blocks.${l}.attn.${s}`);
    out.add(layout.granularity === "layer" ? `blocks.${l}.attn_out` : `blocks.${l}.attn.result`);
    if (c.dMlp !== null) {
      out.add(`blocks.${l}.mlp_in`);
      out.add(`blocks.${l}.mlp_out`);
    }
  }
  return [...out];
};

/**
 * A plan that patches edges at head-qkv granularity under GQA computes key/value per query head,
 * so its key/value sites have H slots, not the catalogue's kv_head: the names of such sites among
 * `sites` (canonical), which the plan may then neither capture, change nor differentiate.
 */
export const reshapedKvSites = (c: ModelConfig, layout: EdgeLayout, sites: Iterable<string>): string[] =>
  kvPerQueryHead(c, layout.granularity)
    ? [...sites].filter((s) => /^blocks\.\d+\.attn\.(k_input|v_input|k|v|rot_k)$/.test(s))
    : [];

interface Piece {
  readonly start: number; // first source index
  readonly size: number; //  k sources
  readonly delta: Value; //  Δ [b, k, p·d]: one row per source, so contributions are per-example GEMMs
  readonly raw: Value; //    Δ [b, p, k, d] as computed
}

export const edgeHooks = (c: ModelConfig, layout: EdgeLayout, from?: number, streams = false): SiteHooks => {
  const S = layout.sources.length;
  const D = layout.destinations.length;
  const d = c.dModel;
  const last = `blocks.${c.nLayers - 1}.resid_post`;
  const SL = from === undefined ? 0 : sourcesBefore(layout, from); // sources given as upstream Δ
  const pieces: Piece[] = [];
  let keep: Value | null = null; //                   1 − m   [b, S, D]
  let ablated: Value | null = null; //                z′      [b, p, S, d]  (from L: [e, p, S − S_L, d])
  let upstream: Value | null = null; //               from L: Δ_<L [e, S_L, p·d]
  let upstreamAll: Value | null = null; //            from L: Δ [e, p, S, d] (the input)
  const attnContrib = new Map<number, Value>(); //   layer → [b, p, n, d] for its attention destinations

  const maskInput = (g: GraphBuilder): Value =>
    (keep ??= g.sub(g.scalar(1), g.input(EDGE_MASK, "float32", ["batch", S, D])));
  const ablatedInput = (g: GraphBuilder): Value =>
    (ablated ??= g.input(EDGE_ABLATED, "float32", [from === undefined ? "batch" : "examples", "pos", S, d]));
  const upstreamInput = (g: GraphBuilder): Value => {
    if (upstream === null) {
      upstreamAll = g.input(EDGE_UPSTREAM, "float32", ["examples", "pos", S, d]); //     [e, p, S, d]
      const before = g.transpose(g.slice(upstreamAll, 2, 0, SL), [0, 2, 1, 3]); //      [e, S_L, p, d]
      upstream = g.reshape(before, ["examples", SL, "pos·d"]);
    }
    return upstream;
  };

  /** Record k sources starting at `start`; z [b, p, k, d]. */
  const record = (g: GraphBuilder, z: Value, start: number) => {
    const k = z.shape[2] as number;
    let delta: Value; //                                                    Δ = z − z′ [b, p, k, d]
    if (from === undefined) delta = g.sub(z, g.slice(ablatedInput(g), 2, start, start + k));
    else {
      // z′ per example, broadcast over the example's trials: [e, T, p, k, d] − [e, 1, p, k, d]
      const zPrime = g.slice(ablatedInput(g), 2, start, start + k);
      const byExample = reshapeDims(
        g,
        z,
        [[zPrime, 0], -1, [z, 1], k, d],
        ["examples", "trials", z.shape[1]!, k, d],
      );
      delta = g.reshapeLike(g.sub(byExample, g.unsqueeze(zPrime, 1)), z);
    }
    const rows = g.reshape(g.transpose(delta, [0, 2, 1, 3]), [z.shape[0]!, k, "pos·d"]); // [b, k, p·d]
    pieces.push({ start, size: k, delta: rows, raw: delta });
  };

  /**
   * Δ of the sources computed in the run as one [b, k, p·d] (sources [SL, SL + k)), extended by the
   * pieces recorded since whenever a group of several destinations (a layer's q/k/v inputs) reads
   * it: a copy of the sources so far per layer, against one [b, n, p·d] product and sum per piece,
   * which took 2.7 s against a 0.25 s forward on GPT-2 small at 4 × 32. A single destination (an
   * MLP, the logits, a layer at layer granularity) reads the pieces past it one by one instead,
   * each product only [b, 1, p·d].
   */
  let computed: { readonly end: number; readonly rows: Value } | null = null;
  const deltasUntil = (g: GraphBuilder, nSources: number, extend: boolean) => {
    const end = computed?.end ?? SL;
    const fresh = pieces.filter((p) => p.start >= end && p.start < nSources);
    if (extend && fresh.length > 0) {
      const last = fresh[fresh.length - 1]!;
      const parts = [...(computed === null ? [] : [computed.rows]), ...fresh.map((p) => p.delta)];
      computed = { end: last.start + last.size, rows: parts.length === 1 ? parts[0]! : g.concat(parts, 1) };
      return { prefix: computed.rows, end: computed.end, rest: [] };
    }
    if (computed === null || nSources <= SL) return { prefix: null, end: SL, rest: fresh };
    const k = Math.min(computed.end, nSources);
    const prefix = k === computed.end ? computed.rows : g.slice(computed.rows, 1, 0, k - SL);
    return { prefix, end: k, rest: fresh };
  };

  /**
   * Σ_u (1 − m_uv) Δ_u for destinations [d0, d0 + n), reading sources [0, nSources): per example
   * one GEMM over the Δ of the sources computed in the run, (1 − m)ᵀ [b, n, k] · Δ [b, k, p·d] →
   * [b, n, p·d] (deltasUntil), and one over the upstream sources from L, then laid out as
   * [b, p, n, d]. (A [b, p]-batched product of [d, k]·[k, n] blocks would be b·p tiny GEMMs; this
   * is b large ones.)
   */
  const contribution = (g: GraphBuilder, d0: number, n: number, nSources: number, like: Value): Value => {
    const keep = maskInput(g);
    const cols = g.transpose(g.slice(keep, 2, d0, d0 + n), [0, 2, 1]); //           [b, n, S]
    let sum: Value | null = null;
    const plus = (part: Value) => {
      sum = sum === null ? part : g.add(sum, part);
    };
    if (SL > 0) {
      // the upstream sources, per example: [e, T·n, S_L]·[e, S_L, p·d] → [e, T·n, p·d] → [b, n, p·d]
      const up = upstreamInput(g);
      const a = reshapeDims(g, g.slice(cols, 2, 0, SL), [[up, 0], -1, SL], ["examples", "trials·n", SL]);
      plus(reshapeDims(g, g.matmul(a, up), [[keep, 0], n, -1], [keep.shape[0]!, n, "pos·d"]));
    }
    const { prefix, end, rest } = deltasUntil(g, nSources, n > 1);
    if (prefix !== null) plus(g.matmul(g.slice(cols, 2, SL, end), prefix)); //           [b, n, p·d]
    for (const p of rest) plus(g.matmul(g.slice(cols, 2, p.start, p.start + p.size), p.delta));
    const [B, P] = like.shape as [Dim, Dim];
    return g.transpose(g.reshape(sum!, [B, n, P, d]), [0, 2, 1, 3]); //                [b, p, n, d]
  };

  const destIndex = (name: string): number => {
    const dst = layout.destinations.find((x) => x.name === name);
    if (dst === undefined) throw new Error(`edge layout has no destination ${name}`);
    return dst.index;
  };
  const firstAttnDest = (l: number) =>
    layout.destinations.find((x) => x.layer === l && (x.kind === "q" || x.kind === "attn"))!;

  const at = (site: string, value: Value, g: GraphBuilder): Value => {
    if (site === "blocks.0.resid_pre") {
      if (from === undefined) record(g, g.unsqueeze(value, 2), 0);
      return value;
    }
    const m = /^blocks\.(\d+)\.(.+)$/.exec(site);
    if (m === null) return value;
    const l = Number(m[1]);
    const rest = m[2]!;
    if (streams && from !== undefined && rest === "resid_pre" && l > from)
      g.output(g.named(value, edgeStreamOutput(l)));
    const [B, P] = value.shape as [string, string];
    const sourceStart = (name: string) => layout.sources.find((s) => s.name === name)!.index;
    switch (rest) {
      case "attn.result":
        if (layout.granularity !== "layer") record(g, value, sourceStart(`a${l}.h0`));
        break;
      case "attn_out":
        if (layout.granularity === "layer") record(g, g.unsqueeze(value, 2), sourceStart(`a${l}`));
        break;
      case "mlp_out":
        record(g, g.unsqueeze(value, 2), sourceStart(`m${l}`));
        break;
      case "attn.q_input":
      case "attn.k_input":
      case "attn.v_input": {
        // One contribution for all of layer l's attention destinations, sliced per q/k/v.
        const first = firstAttnDest(l);
        const nKv = kvSlots(c, layout.granularity);
        const n = layout.granularity === "layer" ? 1 : c.nHeads + 2 * nKv;
        if (!attnContrib.has(l)) attnContrib.set(l, contribution(g, first.index, n, first.nSources, value));
        const all = attnContrib.get(l)!;
        if (layout.granularity === "layer") return g.sub(value, all); //   [b, p, 1, d] over every head
        const off = rest === "attn.q_input" ? 0 : rest === "attn.k_input" ? c.nHeads : c.nHeads + nKv;
        const k = rest === "attn.q_input" ? c.nHeads : nKv;
        return g.sub(value, g.slice(all, 2, off, off + k));
      }
      case "mlp_in": {
        const v = destIndex(`m${l}`);
        const contrib = contribution(g, v, 1, layout.destinations[v]!.nSources, value); // [b, p, 1, d]
        return g.sub(value, g.reshape(contrib, [B, P, d]));
      }
    }
    if (site === last) {
      if (streams && from !== undefined && from < c.nLayers) {
        g.output(g.named(value, edgeStreamOutput(c.nLayers)));
        upstreamInput(g);
        const parts = [g.slice(upstreamAll!, 2, 0, SL), ...pieces.map((p) => p.raw)];
        g.output(g.named(g.concat(parts, 2), EDGE_DELTAS));
      }
      const v = destIndex("logits");
      const contrib = contribution(g, v, 1, layout.destinations[v]!.nSources, value);
      return g.sub(value, g.reshape(contrib, [B, P, d]));
    }
    return value;
  };
  return {
    touched: new Set(edgeSites(c, layout)),
    at,
    kvPerQueryHead: kvPerQueryHead(c, layout.granularity),
  };
};
