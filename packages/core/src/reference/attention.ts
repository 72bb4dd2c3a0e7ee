import type { ModelConfig, RotaryConfig } from "../model/config.ts";
import { linear, softmaxRows } from "./math.ts";
import { type Normalized, normalizeRows } from "./norms.ts";
import type { AttentionParams } from "./params.ts";

/**
 * Causal multi-head attention with grouped-query heads and optional rotary embeddings,
 * one head at a time. B = batch, P = positions, H = query heads, K = key/value heads,
 * d = d_model, e = d_head. Query head h reads key/value head ⌊h / (H/K)⌋.
 */

/** The residual stream each head reads (q_input / k_input / v_input), each [B·P, d]. */
export interface HeadInputs {
  /** One per query head. */
  readonly q: readonly Float64Array[];
  /** One per key/value head. */
  readonly k: readonly Float64Array[];
  /** One per key/value head. */
  readonly v: readonly Float64Array[];
}

export interface AttentionActivations {
  /** [B, P, H, e] */
  readonly q: Float64Array;
  /** [B, P, K, e] */
  readonly k: Float64Array;
  /** [B, P, K, e] */
  readonly v: Float64Array;
  /** [B, P, H, e]; null without rotary */
  readonly rotQ: Float64Array | null;
  /** [B, P, K, e]; null without rotary */
  readonly rotK: Float64Array | null;
  /** [B, H, P, P], −∞ above the diagonal */
  readonly scores: Float64Array;
  /** [B, H, P, P] */
  readonly pattern: Float64Array;
  /** [B, P, H, e] */
  readonly z: Float64Array;
  /** [B, P, H, d], without b_O (post-norms: each head's share of ln1_post, see below) */
  readonly result: Float64Array;
  /** post-norms only: ln1_post of Σ_h z_h·W_O[h] (scale [B·P], normalized [B·P, d]) */
  readonly ln1Post: Normalized | null;
  /** [B, P, d] */
  readonly attnOut: Float64Array;
}

/**
 * Project each head's (normalised) input: out[b, p, h, :] = LN(x_h)[b, p, :] · W[h] + bias[h].
 *   inputs: n heads of [B·P, d];  W [n, d, e];  bias [n, e] → out [B, P, n, e]
 */
const projectHeads = (
  c: ModelConfig,
  p: AttentionParams,
  inputs: readonly Float64Array[],
  W: Float32Array,
  bias: Float32Array | null,
  rows: number,
): Float64Array => {
  const { dModel: d, dHead: e } = c;
  const n = inputs.length;
  const out = new Float64Array(rows * n * e);
  for (let h = 0; h < n; h++) {
    // ln1 is applied to each head's own input (they differ once a plan patches them)
    const xn = normalizeRows(p.ln1, inputs[h]!, rows, d).normalized; // [B·P, d]
    const y = linear(xn, rows, d, W, e, bias, h * d * e, h * e); // [B·P, e]
    for (let r = 0; r < rows; r++) for (let i = 0; i < e; i++) out[(r * n + h) * e + i] = y[r * e + i]!;
  }
  return out;
};

/**
 * The angle per position of rotary pair i: base^(−2i/r), rescaled as the config says. Written
 * here again, on purpose, rather than shared with the builder (model/rotary.ts): the reference is
 * the independent oracle. Llama 3.1's bands: wavelength λ = 2π/f against C = the original context,
 * λ < C/high keeps f, λ > C/low divides it by the factor, and between them s = (C/λ − low)/(high − low)
 * mixes the two: (1 − s)·f/factor + s·f. llama.cpp's divisors divide f_i by d_i.
 */
export const pairFrequency = (rot: RotaryConfig, i: number): number => {
  const f = rot.base ** ((-2 * i) / rot.dim);
  const s = rot.scaling;
  if (s === undefined || s === null) return f;
  if (s.kind === "divisors") return f / s.divisors[i]!;
  const lambda = (2 * Math.PI) / f;
  if (lambda < s.originalContext / s.highFreqFactor) return f;
  if (lambda > s.originalContext / s.lowFreqFactor) return f / s.factor;
  const smooth = (s.originalContext / lambda - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
  return (1 - smooth) * (f / s.factor) + smooth * f;
};

/**
 * Rotary position embedding on the first r dimensions of every head, [B, P, n, e] → same.
 * For pair i ∈ [0, r/2): (a, b) = (i, i + r/2) for "half", (2i, 2i+1) for "interleaved";
 *   θ = p · f_i (pairFrequency),  x'_a = x_a cos θ − x_b sin θ,  x'_b = x_a sin θ + x_b cos θ.
 * Dimensions r … e−1 pass through unchanged.
 */
export const applyRotary = (
  rot: RotaryConfig,
  x: Float64Array,
  B: number,
  P: number,
  n: number,
  e: number,
): Float64Array => {
  const out = Float64Array.from(x);
  const r = rot.dim;
  for (let b = 0; b < B; b++)
    for (let pos = 0; pos < P; pos++)
      for (let h = 0; h < n; h++) {
        const base = ((b * P + pos) * n + h) * e;
        for (let i = 0; i < r / 2; i++) {
          const ia = rot.style === "half" ? i : 2 * i;
          const ib = rot.style === "half" ? i + r / 2 : 2 * i + 1;
          const theta = pos * pairFrequency(rot, i);
          const xa = x[base + ia]!;
          const xb = x[base + ib]!;
          out[base + ia] = xa * Math.cos(theta) - xb * Math.sin(theta);
          out[base + ib] = xa * Math.sin(theta) + xb * Math.cos(theta);
        }
      }
  return out;
};

/** cap·tanh(x/cap) (soft-capping), or x without a cap. */
export const softcapValue = (x: number, cap: number | null | undefined): number =>
  cap == null ? x : cap * Math.tanh(x / cap);

/**
 * May query position i see key position j in layer l? Causal (j ≤ i), and on sliding-window
 * layers (every layer, or the even ones) also i − j < size.
 */
export const keyVisible = (c: ModelConfig, l: number, i: number, j: number): boolean => {
  if (j > i) return false;
  const w = c.slidingWindow;
  if (w == null || (w.layers === "even" && l % 2 !== 0)) return true;
  return i - j < w.size;
};

export const attention = (
  c: ModelConfig,
  p: AttentionParams,
  inputs: HeadInputs,
  B: number,
  P: number,
  layer = 0,
): AttentionActivations => {
  const { dModel: d, dHead: e, nHeads: H, nKvHeads: K } = c;
  const G = H / K; // query heads per key/value head
  const rows = B * P;

  // q = LN(q_input_h)·W_Q[h] + b_Q[h]   [B, P, H, e];  k, v likewise   [B, P, K, e]
  const q = projectHeads(c, p, inputs.q, p.W_Q, p.b_Q, rows);
  const k = projectHeads(c, p, inputs.k, p.W_K, p.b_K, rows);
  const v = projectHeads(c, p, inputs.v, p.W_V, p.b_V, rows);

  // rot_q, rot_k: rotary on the first r dims of each head
  const rotQ = c.rotary === null ? null : applyRotary(c.rotary, q, B, P, H, e);
  const rotK = c.rotary === null ? null : applyRotary(c.rotary, k, B, P, K, e);
  const qq = rotQ ?? q;
  const kk = rotK ?? k;

  // scores[b, h, i, j] = cap(Σ_t q[b, i, h, t] · k[b, j, ⌊h/G⌋, t] · attnScale) where key j is
  // visible from query i (causal, and within the window on sliding layers), else −∞
  const scores = new Float64Array(B * H * P * P);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const kv = Math.floor(h / G);
      for (let i = 0; i < P; i++)
        for (let j = 0; j < P; j++) {
          const at = ((b * H + h) * P + i) * P + j;
          if (!keyVisible(c, layer, i, j)) {
            scores[at] = Number.NEGATIVE_INFINITY;
            continue;
          }
          let dot = 0;
          for (let t = 0; t < e; t++)
            dot += qq[((b * P + i) * H + h) * e + t]! * kk[((b * P + j) * K + kv) * e + t]!;
          scores[at] = softcapValue(dot * c.attnScale, c.attnSoftcap);
        }
    }

  // pattern = softmax over key positions j
  const pattern = Float64Array.from(scores);
  softmaxRows(pattern, B * H * P, P);

  // z[b, i, h, t] = Σ_j pattern[b, h, i, j] · v[b, j, ⌊h/G⌋, t]   [B, P, H, e]
  const z = new Float64Array(rows * H * e);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const kv = Math.floor(h / G);
      for (let i = 0; i < P; i++)
        for (let t = 0; t < e; t++) {
          let acc = 0;
          for (let j = 0; j < P; j++)
            acc += pattern[((b * H + h) * P + i) * P + j]! * v[((b * P + j) * K + kv) * e + t]!;
          z[((b * P + i) * H + h) * e + t] = acc;
        }
    }

  // result[b, i, h, :] = z[b, i, h, :] · W_O[h]   [B, P, H, d]
  const result = new Float64Array(rows * H * d);
  for (let r = 0; r < rows; r++)
    for (let h = 0; h < H; h++)
      for (let o = 0; o < d; o++) {
        let acc = 0;
        for (let t = 0; t < e; t++) acc += z[(r * H + h) * e + t]! * p.W_O[(h * e + t) * d + o]!;
        result[(r * H + h) * d + o] = acc;
      }

  // attn_out[b, i, :] = Σ_h result[b, i, h, :] + b_O   [B, P, d]
  const attnOut = new Float64Array(rows * d);
  for (let r = 0; r < rows; r++)
    for (let o = 0; o < d; o++) {
      let acc = 0;
      for (let h = 0; h < H; h++) acc += result[(r * H + h) * d + o]!;
      attnOut[r * d + o] = acc + (p.b_O === null ? 0 : p.b_O[o]!);
    }
  if (p.ln1Post === null) return { q, k, v, rotQ, rotK, scores, pattern, z, result, ln1Post: null, attnOut };

  // Post-norms: attn_out = ln1_post(Σ_h z_h·W_O[h]) with σ[r] = its scale, and each head's result
  // is its share: result[r, h, :] = (z_h·W_O[h])[r, :] / σ[r] · w_post, so Σ_h result = attn_out.
  const ln1Post = normalizeRows(p.ln1Post, attnOut, rows, d);
  const w = p.ln1Post.w!;
  for (let r = 0; r < rows; r++)
    for (let h = 0; h < H; h++)
      for (let o = 0; o < d; o++)
        result[(r * H + h) * d + o] = (result[(r * H + h) * d + o]! / ln1Post.scale![r]!) * w[o]!;
  return { q, k, v, rotQ, rotK, scores, pattern, z, result, ln1Post, attnOut: ln1Post.normalized };
};
