import type { ModelConfig } from "../model/config.ts";
import type { HostTensor } from "../tensor/host-tensor.ts";
import { activation, type Fields } from "./fields.ts";
import { contiguousHeads, headBias, headsFromRows, outputFromRows, transpose } from "./layout.ts";
import { hfRope } from "./rope-scaling.ts";
import { type Mapped, Mapper, type TensorTable } from "./table.ts";

/**
 * Which attention biases a checkpoint must hold: `qkv` for q/k/v_proj, `o` for o_proj. A bias not
 * required is still read when the file has it (checkpoints that carry one use it).
 */
export interface AttentionBiases {
  readonly qkv: boolean;
  readonly o: boolean;
}

/**
 * Hugging Face LLaMA. nn.Linear weights are [out, in] (y = W x).
 *   model.layers.{l}.self_attn.q_proj [H·dh, d], k_proj / v_proj [H_kv·dh, d], o_proj [d, H·dh]
 *   model.layers.{l}.mlp.gate_proj / up_proj [d_mlp, d], down_proj [d, d_mlp]
 * SwiGLU: W_gate = gate_proj^T, W_in = up_proj^T, W_out = down_proj^T.
 * Rotary in HF's rotate-half convention (the checkpoint's q/k rows are already permuted for it):
 * style "half" over all of d_head, base rope_theta, rescaled per rope_scaling (or transformers 5's
 * rope_parameters; rope-scaling.ts: "llama3" only). head_dim may differ from hidden_size / num_attention_heads (Llama 3.2, …).
 * Absent optional fields take LlamaConfig's defaults (rms_norm_eps 1e-6, rope_theta 10000, silu,
 * num_key_value_heads = num_attention_heads, untied, no biases; attention_bias puts one on
 * q/k/v/o_proj).
 */
export const llamaConfig = (
  f: Fields,
  name: string,
): { config: ModelConfig; tied: boolean; bias: AttentionBiases } => {
  const d = f.int("hidden_size");
  const nHeads = f.int("num_attention_heads");
  const nKvHeads = f.intOr("num_key_value_heads", nHeads);
  if (nHeads % nKvHeads !== 0)
    f.fail("num_key_value_heads", `a divisor of num_attention_heads = ${nHeads}`, nKvHeads);
  if (!f.has("head_dim") && d % nHeads !== 0) {
    f.fail("num_attention_heads", `a divisor of hidden_size = ${d} (no head_dim given)`, nHeads);
  }
  const dHead = f.intOr("head_dim", d / nHeads);
  if (dHead % 2 !== 0)
    f.fail(f.has("head_dim") ? "head_dim" : "num_attention_heads", "an even head size for rotary", dHead);
  const { base, scaling } = hfRope(f);
  f.unsupportedUnless("mlp_bias", (v) => v === false, "false (the canonical gated MLP has no biases)");
  const config: ModelConfig = {
    name,
    family: "llama",
    dModel: d,
    nLayers: f.int("num_hidden_layers"),
    nHeads,
    nKvHeads,
    dHead,
    dMlp: f.int("intermediate_size"),
    gatedMlp: true,
    act: activation(f, "hidden_act", "silu"),
    vocabSize: f.int("vocab_size"),
    nCtx: f.int("max_position_embeddings"),
    positional: "none",
    rotary: {
      dim: dHead,
      base,
      style: "half",
      ...(scaling === null ? {} : { scaling }),
    },
    norm: "rmsnorm",
    normEps: f.numOr("rms_norm_eps", 1e-6, 0),
    parallelResidual: false,
    attnScale: 1 / Math.sqrt(dHead),
  };
  const bias = f.boolOr("attention_bias", false);
  return { config, tied: f.boolOr("tie_word_embeddings", false), bias: { qkv: bias, o: bias } };
};

/**
 * Mistral: LLaMA's layout, plus `sliding_window` W on every layer (null: global attention):
 * key k is visible from query q when q − k < W, as transformers' sliding-window mask has it.
 * MistralConfig's defaults otherwise match LlamaConfig's (head_dim = hidden_size / heads).
 */
export const mistralConfig = (
  f: Fields,
  name: string,
): { config: ModelConfig; tied: boolean; bias: AttentionBiases } => {
  const { config, tied, bias } = llamaConfig(f, name);
  const window = f.has("sliding_window") ? f.int("sliding_window") : null;
  return {
    config: {
      ...config,
      family: "mistral",
      ...(window !== null ? { slidingWindow: { size: window, layers: "all" as const } } : {}),
    },
    tied,
    bias,
  };
};

/**
 * Where a LLaMA-layout family keeps its block norms (HF names under model.layers.{l}, by canonical
 * prefix), and the reparametrisations folded into canonical weights at load (see hf-gemma.ts).
 */
export interface LlamaLayout {
  readonly norms: Readonly<Record<"ln1" | "ln2", string>> &
    Readonly<Partial<Record<"ln1_post" | "ln2_post", string>>>;
  /** Stored norm weight w → canonical weight (Gemma: 1 + w). */
  readonly normWeight: (w: HostTensor) => HostTensor;
  /** Stored embedding E → canonical W_E (Gemma: √d·E); the tied W_U stays Eᵀ. */
  readonly embed: (e: HostTensor) => HostTensor;
}

export const LLAMA_LAYOUT: LlamaLayout = {
  norms: { ln1: "input_layernorm", ln2: "post_attention_layernorm" },
  normWeight: (w) => w,
  embed: (e) => e,
};

export const llamaWeights = (
  c: ModelConfig,
  tied: boolean,
  bias: AttentionBiases,
  t: TensorTable,
  layout: LlamaLayout = LLAMA_LAYOUT,
): Mapped => {
  const m = new Mapper(t);
  const p = m.has("model.embed_tokens.weight") ? "model." : "";
  const d = c.dModel;
  const dMlp = c.dMlp!;
  const dh = c.dHead;
  const heads = contiguousHeads(dh);

  const normFrom = (canonical: string, name: string) =>
    m.put(canonical, name, layout.normWeight(m.take(name, [d])));
  const embed = m.take(`${p}embed_tokens.weight`, [c.vocabSize, d]); // [vocab, d]
  m.put("embed.W_E", `${p}embed_tokens.weight`, layout.embed(embed));
  for (let l = 0; l < c.nLayers; l++) {
    const h = `${p}layers.${l}`;
    const b = `blocks.${l}`;
    for (const [canonical, hf] of Object.entries(layout.norms))
      normFrom(`${b}.${canonical}.w`, `${h}.${hf}.weight`);
    for (const [x, proj, n] of [
      ["Q", "q_proj", c.nHeads],
      ["K", "k_proj", c.nKvHeads],
      ["V", "v_proj", c.nKvHeads],
    ] as const) {
      const name = `${h}.self_attn.${proj}`;
      const w = m.take(`${name}.weight`, [n * dh, d]); // [n·dh, d]
      m.put(`${b}.attn.W_${x}`, `${name}.weight`, headsFromRows(w, n, dh, heads));
      const bx = bias.qkv ? m.take(`${name}.bias`, [n * dh]) : m.takeOptional(`${name}.bias`, [n * dh]);
      if (bx !== null) m.put(`${b}.attn.b_${x}`, `${name}.bias`, headBias(bx, n, dh, heads));
    }
    const wo = m.take(`${h}.self_attn.o_proj.weight`, [d, c.nHeads * dh]); // [d, H·dh]
    m.put(`${b}.attn.W_O`, `${h}.self_attn.o_proj.weight`, outputFromRows(wo, c.nHeads, dh));
    if (bias.o) m.copy(`${b}.attn.b_O`, `${h}.self_attn.o_proj.bias`, [d]);
    else m.copyOptional(`${b}.attn.b_O`, `${h}.self_attn.o_proj.bias`, [d]);
    for (const [canonical, proj, shape] of [
      ["W_gate", "gate_proj", [dMlp, d]],
      ["W_in", "up_proj", [dMlp, d]],
      ["W_out", "down_proj", [d, dMlp]],
    ] as const) {
      const name = `${h}.mlp.${proj}.weight`;
      m.put(`${b}.mlp.${canonical}`, name, transpose(m.take(name, shape)));
    }
  }
  normFrom("ln_final.w", `${p}norm.weight`);
  if (tied) m.put("unembed.W_U", `${p}embed_tokens.weight`, transpose(embed));
  else m.put("unembed.W_U", "lm_head.weight", transpose(m.take("lm_head.weight", [c.vocabSize, d])));
  // rotary_emb.inv_freq: a buffer of old checkpoints; lm_head when tied (a copy of the embedding).
  return m.done(c, (n) => n.endsWith(".rotary_emb.inv_freq") || (tied && n === "lm_head.weight"));
};
