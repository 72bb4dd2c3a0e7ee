import type { ModelConfig } from "../model/config.ts";
import { activation, type Fields } from "./fields.ts";
import { contiguousHeads, headBias, headsFromCols, outputFromCols, transpose } from "./layout.ts";
import { type Mapped, Mapper, type TensorTable } from "./table.ts";

/**
 * Hugging Face GPT-2. Conv1D weights are already [in, out] (y = x W + b).
 *   h.{l}.attn.c_attn.weight [d, 3d]: columns q | k | v, each H blocks of d_head
 *   h.{l}.attn.c_proj.weight [d, d]   (in = H·d_head, out = d)
 *   h.{l}.mlp.c_fc.weight [d, d_mlp], c_proj.weight [d_mlp, d]
 * Keys may or may not carry the `transformer.` prefix (GPT2LMHeadModel vs GPT2Model).
 * Embeddings are tied unless tie_word_embeddings is false and lm_head.weight is present.
 * Absent optional fields take GPT2Config's defaults (eps 1e-5, gelu_new, n_inner 4d, tied).
 */
export const gpt2Config = (f: Fields, name: string): { config: ModelConfig; tied: boolean } => {
  const d = f.int("n_embd");
  const nHeads = f.int("n_head");
  if (d % nHeads !== 0) f.fail("n_head", `a divisor of n_embd = ${d}`, nHeads);
  const dHead = d / nHeads;
  f.unsupportedUnless("scale_attn_by_inverse_layer_idx", (v) => v === false, "false");
  f.unsupportedUnless("add_cross_attention", (v) => v === false, "false");
  const scaled = f.boolOr("scale_attn_weights", true);
  const config: ModelConfig = {
    name,
    family: "gpt2",
    dModel: d,
    nLayers: f.int("n_layer"),
    nHeads,
    nKvHeads: nHeads,
    dHead,
    dMlp: f.intOr("n_inner", 4 * d),
    gatedMlp: false,
    act: activation(f, "activation_function", "gelu_new"),
    vocabSize: f.int("vocab_size"),
    nCtx: f.has("n_positions") || !f.has("n_ctx") ? f.int("n_positions") : f.int("n_ctx"),
    positional: "learned",
    rotary: null,
    norm: "layernorm",
    normEps: f.numOr("layer_norm_epsilon", 1e-5, 0),
    parallelResidual: false,
    attnScale: scaled ? 1 / Math.sqrt(dHead) : 1,
  };
  return { config, tied: f.boolOr("tie_word_embeddings", true) };
};

export const gpt2Weights = (c: ModelConfig, tied: boolean, t: TensorTable): Mapped => {
  const m = new Mapper(t);
  const p = m.has("transformer.wte.weight") ? "transformer." : "";
  const d = c.dModel;
  const dMlp = c.dMlp!;
  const H = c.nHeads;
  const dh = c.dHead;
  const norm = (canonical: string, name: string) => {
    m.copy(`${canonical}.w`, `${name}.weight`, [d]);
    m.copy(`${canonical}.b`, `${name}.bias`, [d]);
  };

  const wte = m.copy("embed.W_E", `${p}wte.weight`, [c.vocabSize, d]); // [vocab, d]
  m.copy("pos_embed.W_pos", `${p}wpe.weight`, [c.nCtx, d]);
  for (let l = 0; l < c.nLayers; l++) {
    const h = `${p}h.${l}`;
    const b = `blocks.${l}`;
    norm(`${b}.ln1`, `${h}.ln_1`);
    const qkv = m.take(`${h}.attn.c_attn.weight`, [d, 3 * d]); // [d, q|k|v]
    const qkvBias = m.takeOptional(`${h}.attn.c_attn.bias`, [3 * d]);
    ["Q", "K", "V"].forEach((x, k) => {
      const cols = contiguousHeads(dh, k * d);
      m.put(`${b}.attn.W_${x}`, `${h}.attn.c_attn.weight`, headsFromCols(qkv, H, dh, cols));
      if (qkvBias !== null)
        m.put(`${b}.attn.b_${x}`, `${h}.attn.c_attn.bias`, headBias(qkvBias, H, dh, cols));
    });
    const wo = m.take(`${h}.attn.c_proj.weight`, [d, d]); // [H·dh, d]
    m.put(`${b}.attn.W_O`, `${h}.attn.c_proj.weight`, outputFromCols(wo, H, dh));
    m.copyOptional(`${b}.attn.b_O`, `${h}.attn.c_proj.bias`, [d]);
    norm(`${b}.ln2`, `${h}.ln_2`);
    m.copy(`${b}.mlp.W_in`, `${h}.mlp.c_fc.weight`, [d, dMlp]);
    m.copyOptional(`${b}.mlp.b_in`, `${h}.mlp.c_fc.bias`, [dMlp]);
    m.copy(`${b}.mlp.W_out`, `${h}.mlp.c_proj.weight`, [dMlp, d]);
    m.copyOptional(`${b}.mlp.b_out`, `${h}.mlp.c_proj.bias`, [d]);
  }
  norm("ln_final", `${p}ln_f`);
  if (!tied && m.has("lm_head.weight")) {
    m.put("unembed.W_U", "lm_head.weight", transpose(m.take("lm_head.weight", [c.vocabSize, d])));
  } else {
    m.put("unembed.W_U", `${p}wte.weight`, transpose(wte));
  }
  // attn.bias / attn.masked_bias: causal-mask buffers of old checkpoints; lm_head when tied.
  return m.done(c, (n) => /\.attn\.(bias|masked_bias)$/.test(n) || n === "lm_head.weight");
};
