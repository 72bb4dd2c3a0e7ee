import type { ModelConfig } from "../model/config.ts";
import type { HostTensor } from "../tensor/host-tensor.ts";
import { activation, type Fields } from "./fields.ts";
import { type LlamaLayout, llamaWeights } from "./hf-llama.ts";
import type { Mapped, TensorTable } from "./table.ts";

/**
 * Hugging Face Gemma (model_type "gemma") and Gemma 2 ("gemma2"): LLaMA's tensor layout
 * (hf-llama.ts) with these conventions.
 *
 * Folded into the canonical weights at load, because they are reparametrisations (the builder
 * and the reference then see a plain RMSNorm and a plain embedding):
 * - RMSNorm computes x̂·(1 + w): canonical ln.w = 1 + w, added in float32 as transformers does
 *   (`output * (1.0 + self.weight.float())` after normalising in float32), so the fold is exact;
 * - the embedding is scaled by √d: canonical W_E = √d·E with √d rounded to float32 first, as
 *   transformers' `normalizer` tensor is, and the product rounded to float32 (exact, as PyTorch's
 *   float32 multiply); the tied unembedding stays W_U = Eᵀ, unscaled.
 * Read as config knobs:
 * - GeGLU: gated MLP, tanh GELU (Gemma 2: hidden_activation; Gemma 1: hidden_activation, else
 *   tanh GELU whatever hidden_act says — its first configs said "gelu" by mistake, and
 *   transformers (PR 29402) and vLLM override it);
 * - Gemma 2: the four block norms input_layernorm (ln1), post_attention_layernorm (ln1_post),
 *   pre_feedforward_layernorm (ln2), post_feedforward_layernorm (ln2_post); scores scaled by
 *   query_pre_attn_scalar^−½; attention and final logits soft-capped (attn_logit_softcapping,
 *   final_logit_softcapping; an explicit null turns a cap off, an absent key takes Gemma2Config's
 *   default 50 / 30); a sliding window of `sliding_window` on even layers (layer_types, when given,
 *   must say exactly that).
 * Defaults are GemmaConfig's / Gemma2Config's (head_dim 256, rms_norm_eps 1e-6, rope_theta 10000,
 * tied head, query_pre_attn_scalar 256, sliding_window 4096). Keys that do not change the forward
 * (cache_implementation, dropout, token ids, torch_dtype, use_cache) are ignored; attention biases
 * and rope scaling are UnsupportedErrors.
 */
export const gemmaConfig = (
  f: Fields,
  name: string,
  version: 1 | 2,
): { config: ModelConfig; tied: boolean } => {
  const d = f.int("hidden_size");
  const nHeads = f.int("num_attention_heads");
  const nKvHeads = f.intOr("num_key_value_heads", nHeads);
  if (nHeads % nKvHeads !== 0)
    f.fail("num_key_value_heads", `a divisor of num_attention_heads = ${nHeads}`, nKvHeads);
  const dHead = f.intOr("head_dim", 256);
  if (dHead % 2 !== 0) f.fail("head_dim", "an even head size for rotary", dHead);
  f.unsupportedUnless("rope_scaling", () => false, "null (no RoPE scaling)");
  f.unsupportedUnless("attention_bias", (v) => v === false, "false (Gemma has no attention biases)");
  const nLayers = f.int("num_hidden_layers");
  const base: ModelConfig = {
    name,
    family: version === 2 ? "gemma2" : "gemma",
    dModel: d,
    nLayers,
    nHeads,
    nKvHeads,
    dHead,
    dMlp: f.int("intermediate_size"),
    gatedMlp: true,
    act: f.has("hidden_activation")
      ? activation(f, "hidden_activation")
      : version === 2
        ? activation(f, "hidden_activation", "gelu_pytorch_tanh")
        : "gelu_tanh",
    vocabSize: f.int("vocab_size"),
    nCtx: f.intOr("max_position_embeddings", 8192),
    positional: "none",
    rotary: { dim: dHead, base: f.numOr("rope_theta", 10000, Number.MIN_VALUE), style: "half" },
    norm: "rmsnorm",
    normEps: f.numOr("rms_norm_eps", 1e-6, 0),
    parallelResidual: false,
    attnScale: 1 / Math.sqrt(dHead),
  };
  const tied = f.boolOr("tie_word_embeddings", true);
  if (version === 1) return { config: base, tied };
  // An explicit null turns a cap off; an absent key is Gemma2Config's default.
  const cap = (field: string, dflt: number): number | null =>
    f.raw(field) === null ? null : f.numOr(field, dflt, Number.MIN_VALUE);
  const size = f.intOr("sliding_window", 4096);
  if (f.has("layer_types")) {
    const types = f.raw("layer_types");
    const even = Array.from({ length: nLayers }, (_, l) =>
      l % 2 === 0 ? "sliding_attention" : "full_attention",
    );
    if (!Array.isArray(types) || types.length !== nLayers || types.some((t, l) => t !== even[l]))
      f.unsupportedUnless("layer_types", () => false, `${JSON.stringify(even)} (sliding on even layers)`);
  }
  return {
    config: {
      ...base,
      attnScale: 1 / Math.sqrt(f.numOr("query_pre_attn_scalar", 256, Number.MIN_VALUE)),
      postNorms: true,
      attnSoftcap: cap("attn_logit_softcapping", 50),
      finalSoftcap: cap("final_logit_softcapping", 30),
      slidingWindow: { size, layers: "even" },
    },
    tied,
  };
};

/** 1 + w, added in float32. */
const onePlus = (w: HostTensor): HostTensor => ({ data: w.data.map((x) => 1 + x), shape: w.shape });

/** √d·E, with √d rounded to float32 and each product rounded to float32 (PyTorch's float32 multiply). */
const scaledEmbedding =
  (d: number) =>
  (e: HostTensor): HostTensor => {
    const s = Math.fround(Math.sqrt(d));
    return { data: e.data.map((x) => s * x), shape: e.shape };
  };

export const gemmaWeights = (c: ModelConfig, tied: boolean, t: TensorTable): Mapped => {
  const layout: LlamaLayout = {
    norms:
      c.postNorms === true
        ? {
            ln1: "input_layernorm",
            ln1_post: "post_attention_layernorm",
            ln2: "pre_feedforward_layernorm",
            ln2_post: "post_feedforward_layernorm",
          }
        : { ln1: "input_layernorm", ln2: "post_attention_layernorm" },
    normWeight: onePlus,
    embed: scaledEmbedding(c.dModel),
  };
  return llamaWeights(c, tied, { qkv: false, o: false }, t, layout);
};
