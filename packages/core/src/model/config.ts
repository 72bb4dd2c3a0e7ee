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
  readonly family: "gpt2" | "llama" | "qwen2" | "neox" | "llama2c" | "transformerlens" | "zoo";
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
  /** Attention scores are q·k · attnScale; 1/√d_head for every family supported today. */
  readonly attnScale: number;
}

/** Query heads per key/value head. */
export const groupSize = (c: ModelConfig): number => c.nHeads / c.nKvHeads;
