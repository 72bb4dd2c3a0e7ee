import type { GraphBuilder, Value } from "../graph/index.ts";
import type { ModelConfig, Weights } from "../model/index.ts";
import { type HostTensor, tensor } from "../tensor/index.ts";
import { norm } from "./norm.ts";
import { applyRotary, type RotaryTables } from "./rotary.ts";
import type { SiteRecorder } from "./sites.ts";
import { softcap } from "./softcap.ts";

/**
 * One attention layer. Shapes: x [b, p, d]; q [b, p, H, dh]; k, v [b, p, Hkv, dh];
 * scores, pattern [b, H, p, p]; z [b, p, H, dh]; result [b, p, H, d]; attn_out [b, p, d].
 *
 *   q_h = LN(x)·W_Q[h] + b_Q[h]        (k, v alike with kv head ⌊h/G⌋, G = H/Hkv)
 *   scores_h = cap(rot(q_h)·rot(k_h)ᵀ · scale),  −∞ where masked;   pattern_h = softmax(scores_h)
 *   z_h = pattern_h · v_h;   result_h = z_h·W_O[h];   attn_out = Σ_h result_h + b_O
 * (cap(s) = c·tanh(s/c) with attnSoftcap, else s). With post-norms (Gemma 2) the layer adds
 * ln1_post(Σ_h z_h·W_O[h]) and a head's result is its share of it: with the layer's own
 * normaliser σ = ln1_post.scale = √(mean((Σ_h z_h·W_O[h])²) + ε) of this run,
 *   result_h = (z_h·W_O[h]) / σ ⊙ w_post,   attn_out = ln1_post.normalized = Σ_h result_h
 * so attn_out = Σ_h result_h holds for every family (the edge graph's sources need no special case).
 *
 * Fast path: one fused [d, (H + 2Hkv)·dh] projection and one [H·dh, d] output projection.
 * General path, built only when a plan captures or changes the per-head inputs or results:
 * each head reads its own copy of the residual stream and normalises it itself.
 * Key/value per query head (SiteHooks.kvPerQueryHead, edge patching at head-qkv granularity):
 * under GQA every query head h gets its own k_h, v_h = its group's W_K[⌊h/G⌋], W_V[⌊h/G⌋] applied
 * to its own input, so k_input, v_input, k, v, rot_k have H slots and attention is ungrouped.
 */
export interface AttentionInputs {
  readonly resid: Value; //            [b, p, d]   the residual stream the layer reads
  readonly mask: Value; //             [b, 1, p, p] bool: true = may attend
  readonly rotary: RotaryTables | null;
}

/** [n, d, dh] per-head weights → [d, n·dh], column h·dh + j = W[h, :, j]. */
const fuseHeads = (w: HostTensor): Float32Array => {
  const [n, d, dh] = w.shape as [number, number, number];
  const out = new Float32Array(d * n * dh);
  for (let h = 0; h < n; h++)
    for (let i = 0; i < d; i++)
      for (let j = 0; j < dh; j++) out[i * n * dh + h * dh + j] = w.data[(h * d + i) * dh + j]!;
  return out;
};

const concatCols = (mats: Float32Array[], rows: number, cols: number[]): Float32Array => {
  const total = cols.reduce((a, b) => a + b, 0);
  const out = new Float32Array(rows * total);
  let off = 0;
  mats.forEach((m, k) => {
    const c = cols[k]!;
    for (let i = 0; i < rows; i++) out.set(m.subarray(i * c, (i + 1) * c), i * total + off);
    off += c;
  });
  return out;
};

export const attention = (
  g: GraphBuilder,
  c: ModelConfig,
  w: Weights,
  l: number,
  sites: SiteRecorder,
  inp: AttentionInputs,
): Value => {
  const pre = `blocks.${l}`;
  const H = c.nHeads;
  const ungroup = sites.kvPerQueryHead && c.nKvHeads !== H;
  const Hkv = ungroup ? H : c.nKvHeads; //              key/value slots
  // ungrouped: slot h holds kv head ⌊h/G⌋ of x [..., Hkv, ...] along `axis` (Expand + Reshape,
  // which autodiff differentiates, rather than a Gather along an inner axis)
  const perQuery = (x: Value, axis: number): Value => {
    const grouped = g.unsqueeze(x, axis + 1);
    const shape = [...x.shape.slice(0, axis + 1), H / c.nKvHeads, ...x.shape.slice(axis + 1)];
    return g.reshape(g.expand(grouped, shape, x), [...x.shape.slice(0, axis), H, ...x.shape.slice(axis + 1)]);
  };
  const dh = c.dHead;
  const d = c.dModel;
  const [B, P] = inp.resid.shape as [string, string];
  const bias = (name: string) => w.get(`${pre}.attn.${name}`);
  // Weights as graph inputs: the fused W_QKV would be a stale host-side copy, so use per-head W_Q/K/V.
  const perHeadInputs =
    g.weightsAreInputs || ["q_input", "k_input", "v_input"].some((s) => sites.touches(`${pre}.attn.${s}`));

  // The shared ln1 (fast path); in the per-head path each head normalises its own input and this
  // one is built only if a plan captures its sites.
  const ln1 = norm(g, c, w, `${pre}.ln1`, inp.resid, (v) => sites.mark(`${pre}.ln1.scale`, v));
  let q: Value;
  let k: Value;
  let v: Value;
  if (!perHeadInputs) {
    for (const s of ["q_input", "k_input", "v_input"] as const) {
      if (!sites.wants(`${pre}.attn.${s}`)) continue;
      const n = s === "q_input" ? H : Hkv; // captured only: the stream copied per head
      sites.mark(`${pre}.attn.${s}`, g.expand(g.unsqueeze(inp.resid, 2), [B, P, n, d], inp.resid));
    }
    let x = inp.resid;
    if (ln1 !== null) x = sites.mark(`${pre}.ln1.normalized`, ln1.normalized);
    // Fused projection: x [b,p,d] · W_qkv [d, (H + 2Hkv)·dh] → [b, p, (H + 2Hkv)·dh].
    const Wq = bias("W_Q")!;
    const Wk = bias("W_K")!;
    const Wv = bias("W_V")!;
    const cols = [H * dh, c.nKvHeads * dh, c.nKvHeads * dh];
    const Wqkv = concatCols([fuseHeads(Wq), fuseHeads(Wk), fuseHeads(Wv)], d, cols);
    let qkv = g.matmul(x, g.weight(`${pre}.attn.W_QKV`, tensor(Wqkv, [d, cols[0]! + 2 * cols[1]!])));
    const bq = bias("b_Q");
    const bk = bias("b_K");
    const bv = bias("b_V");
    if (bq !== undefined || bk !== undefined || bv !== undefined) {
      const b = new Float32Array(cols[0]! + 2 * cols[1]!);
      if (bq !== undefined) b.set(bq.data, 0);
      if (bk !== undefined) b.set(bk.data, cols[0]!);
      if (bv !== undefined) b.set(bv.data, cols[0]! + cols[1]!);
      qkv = g.add(qkv, g.weight(`${pre}.attn.b_QKV`, tensor(b, [b.length])));
    }
    q = g.reshape(g.slice(qkv, -1, 0, cols[0]!), [B, P, H, dh]);
    k = g.reshape(g.slice(qkv, -1, cols[0]!, cols[0]! + cols[1]!), [B, P, c.nKvHeads, dh]);
    v = g.reshape(g.slice(qkv, -1, cols[0]! + cols[1]!, cols[0]! + 2 * cols[1]!), [B, P, c.nKvHeads, dh]);
    if (ungroup) {
      k = perQuery(k, 2); //                                           [b, p, H, dh]
      v = perQuery(v, 2);
    }
  } else {
    if (ln1 !== null && sites.wants(`${pre}.ln1.normalized`))
      sites.mark(`${pre}.ln1.normalized`, ln1.normalized);
    // Each head reads its own copy of the stream: in_h [b, p, n, d] → LN per head → [b, n, p, d]
    // · W [n, d, dh] → [b, n, p, dh] → [b, p, n, dh].
    const project = (s: "q" | "k" | "v", n: number): Value => {
      const S = s.toUpperCase();
      let input = g.expand(g.unsqueeze(inp.resid, 2), [B, P, n, d], inp.resid);
      input = sites.mark(`${pre}.attn.${s}_input`, input);
      const normed = norm(g, c, w, `${pre}.ln1`, input)?.normalized ?? input;
      const repeat = s !== "q" && ungroup; //                          W [Hkv, d, dh] → [H, d, dh]
      let W = g.weight(`${pre}.attn.W_${S}`, w.get(`${pre}.attn.W_${S}`)!);
      if (repeat) W = perQuery(W, 0);
      let y = g.matmul(g.transpose(normed, [0, 2, 1, 3]), W);
      const b = bias(`b_${S}`);
      if (b !== undefined) {
        let bw = g.weight(`${pre}.attn.b_${S}`, tensor(b.data, [b.data.length / dh, 1, dh]));
        if (repeat) bw = perQuery(bw, 0);
        y = g.add(y, bw);
      }
      return g.transpose(y, [0, 2, 1, 3]);
    };
    q = project("q", H);
    k = project("k", Hkv);
    v = project("v", Hkv);
  }
  q = sites.mark(`${pre}.attn.q`, q);
  k = sites.mark(`${pre}.attn.k`, k);
  v = sites.mark(`${pre}.attn.v`, v);
  if (c.rotary !== null && inp.rotary !== null) {
    q = sites.mark(`${pre}.attn.rot_q`, applyRotary(g, c.rotary, inp.rotary, q));
    k = sites.mark(`${pre}.attn.rot_k`, applyRotary(g, c.rotary, inp.rotary, k));
  }

  // Grouped-query attention without repeating K/V: query heads split as [Hkv, G] and K/V get a
  // broadcast axis of size 1, so MatMul broadcasts each kv head over its G query heads.
  const G = H / Hkv;
  const qh = g.transpose(q, [0, 2, 1, 3]); //                         [b, H, p, dh]
  const kT = g.transpose(k, [0, 2, 3, 1]); //                         [b, Hkv, dh, p]
  const vh = g.transpose(v, [0, 2, 1, 3]); //                         [b, Hkv, p, dh]
  let scores: Value;
  if (G === 1) scores = g.matmul(qh, kT);
  else {
    const qg = g.reshape(qh, [B, Hkv, G, P, dh]);
    scores = g.reshape(g.matmul(qg, g.unsqueeze(kT, 2)), [B, H, P, P]); // [b, H, p, p]
  }
  // Interventions see the scores before the causal mask and the mask is applied after them, so no
  // plan can open a future position and −∞ never meets arithmetic; captures see the masked scores.
  scores = sites.hook(`${pre}.attn.scores`, softcap(g, g.mul(scores, g.scalar(c.attnScale)), c.attnSoftcap));
  scores = sites.capture(`${pre}.attn.scores`, g.where(inp.mask, scores, g.scalar(Number.NEGATIVE_INFINITY)));
  const pattern = sites.mark(`${pre}.attn.pattern`, g.softmax(scores, -1));
  let zh: Value; //                                                    [b, H, p, dh]
  if (G === 1) zh = g.matmul(pattern, vh);
  else zh = g.reshape(g.matmul(g.reshape(pattern, [B, Hkv, G, P, P]), g.unsqueeze(vh, 2)), [B, H, P, dh]);
  const z = sites.mark(`${pre}.attn.z`, g.transpose(zh, [0, 2, 1, 3])); // [b, p, H, dh]

  const WO = w.get(`${pre}.attn.W_O`)!;
  const perHeadResult = sites.wants(`${pre}.attn.result`);
  // result_h = z_h · W_O[h]: [b, H, p, dh] · [H, dh, d] → [b, H, p, d] → [b, p, H, d]
  const heads = () =>
    g.transpose(g.matmul(g.transpose(z, [0, 2, 1, 3]), g.weight(`${pre}.attn.W_O`, WO)), [0, 2, 1, 3]);
  // Fused: z [b, p, H·dh] · W_O [H·dh, d]; W_O's [H, dh, d] layout is already row h·dh + j.
  const fused = () =>
    g.matmul(g.reshape(z, [B, P, H * dh]), g.weight(`${pre}.attn.W_O`, tensor(WO.data, [H * dh, d])));
  if (c.postNorms === true) {
    // σ from the heads' sum; the ln1_post weight applies per head, so Σ_h result_h = ln1_post(Σ_h z_h·W_O[h]).
    const perHead = perHeadResult ? heads() : null;
    const sum = perHead !== null ? g.reduceSum(perHead, [2], false) : fused();
    const post = norm(g, c, w, `${pre}.ln1_post`, sum, (v) => sites.mark(`${pre}.ln1_post.scale`, v))!;
    let out = post.normalized;
    if (perHead !== null) {
      // RMSNorm only (checkConfig): LayerNorm's centring and bias do not split over heads.
      const weight = g.weight(`${pre}.ln1_post.w`, w.get(`${pre}.ln1_post.w`)!);
      const result = sites.mark(
        `${pre}.attn.result`,
        g.mul(g.div(perHead, g.unsqueeze(post.scale, 2)), weight),
      );
      out = g.reduceSum(result, [2], false);
    }
    return sites.mark(`${pre}.attn_out`, sites.mark(`${pre}.ln1_post.normalized`, out));
  }
  let out = perHeadResult ? g.reduceSum(sites.mark(`${pre}.attn.result`, heads()), [2], false) : fused();
  const bO = bias("b_O");
  if (bO !== undefined) out = g.add(out, g.weight(`${pre}.attn.b_O`, bO));
  return sites.mark(`${pre}.attn_out`, out);
};
