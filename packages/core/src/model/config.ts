/**
 * The one description of a decoder-only transformer that every loader produces and every
 * consumer (the ONNX graph builder, the naive reference forward) reads. Model families
 * (GPT-2, LLaMA, GPT-NeoX, llama2.c, TransformerLens) differ only in the values below and in
 * how their files map onto the canonical weight names of ./weights.ts.
 */

/** Normalisation before attention, before the MLP and at the end. */
export type NormKind = "layernorm" | "rmsnorm" | "none";

/**
 * MLP activation. gelu_tanh is GPT-2's gelu_new: 0.5x(1+tanh(√(2/π)(x+0.044715x³)));
 * gelu is exact: 0.5x(1+erf(x/√2)); silu is x·σ(x).
 */
export type Activation = "gelu_tanh" | "gelu" | "relu" | "silu";

/**
 * Which pairs of a head's rotated dimensions rotate together.
 * - "half": dimension i pairs with i + r/2 (GPT-NeoX, Hugging Face LLaMA: rotate_half);
 * - "interleaved": dimension 2i pairs with 2i+1 (llama2.c, GPT-J, Meta LLaMA).
 * For pair index i in [0, r/2) the angle at position p is p · base^(−2i/r).
 */
export type RotaryStyle = "half" | "interleaved";

export interface RotaryConfig {
  /** r: how many of each head's d_head dimensions rotate (the first r); even, ≤ d_head. */
  readonly dim: number;
  readonly base: number;
  readonly style: RotaryStyle;
  /** How the frequencies base^(−2i/r) are rescaled; absent or null: they are not. */
  readonly scaling?: RopeScaling | null;
}

/**
 * Rescaled rotary frequencies (model/rotary.ts computes them). For pair i, f_i = base^(−2i/r):
 * - "llama3" (Llama 3.1 / 3.2, HF rope_type "llama3"): with wavelength λ_i = 2π / f_i and
 *   C = originalContext, f_i is kept when λ_i < C / highFreqFactor, divided by `factor` when
 *   λ_i > C / lowFreqFactor, and in between f_i·((1 − s)/factor + s) with
 *   s = (C/λ_i − lowFreqFactor) / (highFreqFactor − lowFreqFactor);
 * - "divisors" (llama.cpp's rope_freqs tensor): f_i / divisors[i], one divisor per pair.
 */
export type RopeScaling =
  | {
      readonly kind: "llama3";
      readonly factor: number;
      readonly lowFreqFactor: number;
      readonly highFreqFactor: number;
      readonly originalContext: number;
    }
  | { readonly kind: "divisors"; readonly divisors: readonly number[] };

export interface ModelConfig {
  /** Human name, e.g. "tiny-gpt2" or "stories260K". */
  readonly name: string;
  /** The family the checkpoint came from: informational, never branched on by the builder. */
  readonly family:
    | "gpt2"
    | "llama"
    | "qwen2"
    | "neox"
    | "llama2c"
    | "transformerlens"
    | "zoo"
    | "gemma"
    | "gemma2"
    | "mistral";
  readonly dModel: number;
  readonly nLayers: number;
  /** Query heads. */
  readonly nHeads: number;
  /** Key/value heads; query head h reads key/value head ⌊h / (nHeads / nKvHeads)⌋ (GQA). */
  readonly nKvHeads: number;
  readonly dHead: number;
  /** MLP hidden width; null for attention-only models. */
  readonly dMlp: number | null;
  /** Gated MLP (SwiGLU): post = act(x·W_gate) ⊙ (x·W_in). Otherwise post = act(x·W_in + b_in). */
  readonly gatedMlp: boolean;
  readonly act: Activation;
  readonly vocabSize: number;
  /**
   * The model's context: the longest sequence it accepts. Learned positions have no row past it
   * (always enforced); for rotary models it is the trained context (config.json
   * max_position_embeddings / n_positions, llama2.c seq_len, GGUF llama.context_length,
   * TransformerLens n_ctx), enforced unless a run opts in with `allowLongContext`.
   */
  readonly nCtx: number;
  /** Learned absolute positions (pos_embed.W_pos) or none (rotary models set `rotary`). */
  readonly positional: "learned" | "none";
  readonly rotary: RotaryConfig | null;
  readonly norm: NormKind;
  readonly normEps: number;
  /**
   * Parallel residual (GPT-NeoX use_parallel_residual): resid_post = resid_pre + attn(ln1 x) + mlp(ln2 x).
   * Serial: resid_mid = resid_pre + attn(ln1 resid_pre); resid_post = resid_mid + mlp(ln2 resid_mid).
   */
  readonly parallelResidual: boolean;
  /** Attention scores are q·k · attnScale: 1/√d_head, or query_pre_attn_scalar^−½ (Gemma 2). */
  readonly attnScale: number;
  /**
   * Norms after attention and after the MLP as well as before (Gemma 2): the block adds
   * ln1_post(attn) and ln2_post(mlp) to the residual stream (weights blocks.l.ln1_post.w,
   * blocks.l.ln2_post.w, same norm kind). Absent = false. Post-norm models have no attention b_O.
   */
  readonly postNorms?: boolean;
  /** Attention scores soft-capped as cap·tanh(s/cap) before the mask (Gemma 2). Absent = none. */
  readonly attnSoftcap?: number | null;
  /** Logits soft-capped as cap·tanh(logits/cap) (Gemma 2). Absent = none. */
  readonly finalSoftcap?: number | null;
  /** Local attention: key k is visible from query q only when pos_q − pos_k < size. Absent = none. */
  readonly slidingWindow?: SlidingWindow | null;
}

/**
 * Sliding-window attention: a query sees the `size` most recent positions (itself included), on
 * every layer (Mistral) or on the even layers 0, 2, 4, … (Gemma 2; odd layers are global).
 */
export interface SlidingWindow {
  readonly size: number;
  readonly layers: "all" | "even";
}

/** Whether layer l attends through the sliding window. */
export const slidesAt = (c: ModelConfig, l: number): boolean =>
  c.slidingWindow != null && (c.slidingWindow.layers === "all" || l % 2 === 0);

/** Query heads per key/value head. */
export const groupSize = (c: ModelConfig): number => c.nHeads / c.nKvHeads;
