import type { ModelConfig } from "../model/config.ts";
import { activation, type Fields } from "./fields.ts";
import { headBias, headsFromRows, outputFromRows, transpose } from "./layout.ts";
import { type Mapped, Mapper, type TensorTable } from "./table.ts";

/**
 * Hugging Face GPT-NeoX (Pythia). nn.Linear weights are [out, in].
 *   gpt_neox.layers.{l}.attention.query_key_value [H·3·dh, d]: per head h, rows
 *     h·3·dh + [0, dh) = q, + [dh, 2dh) = k, + [2dh, 3dh) = v
 *   attention.dense [d, H·dh]; mlp.dense_h_to_4h [d_mlp, d]; mlp.dense_4h_to_h [d, d_mlp]
 *   embed_out [vocab, d] (top level, no prefix), untied unless tie_word_embeddings.
 * Rotary on the first r = ⌊rotary_pct · dh⌋ dims of each head, rotate-half style over those r
 * (HF: rotary_ndims = int(head_size · rotary_pct)), base rotary_emb_base.
 * Absent optional fields take GPTNeoXConfig's defaults (rotary_pct 0.25, base 10000, eps 1e-5,
 * gelu, parallel residual, untied).
 */
export const neoxConfig = (f: Fields, name: string): { config: ModelConfig; tied: boolean } => {
  const d = f.int("hidden_size");
  const nHeads = f.int("num_attention_heads");
  if (d % nHeads !== 0) f.fail("num_attention_heads", `a divisor of hidden_size = ${d}`, nHeads);
  const dHead = d / nHeads;
  const pctField = f.has("rotary_pct") ? "rotary_pct" : "partial_rotary_factor";
  const pct = f.numOr(pctField, 0.25, 0, 1);
  const rotaryDim = Math.floor(dHead * pct);
  if (rotaryDim === 0 || rotaryDim % 2 !== 0) {
    f.fail(pctField, `a fraction of d_head = ${dHead} giving an even, positive rotary dim`, pct);
  }
  const baseField = f.has("rotary_emb_base") ? "rotary_emb_base" : "rope_theta";
  f.unsupportedUnless("rope_scaling", () => false, "null (no RoPE scaling)");
  const config: ModelConfig = {
    name,
    family: "neox",
    dModel: d,
    nLayers: f.int("num_hidden_layers"),
    nHeads,
    nKvHeads: nHeads,
    dHead,
    dMlp: f.int("intermediate_size"),
    gatedMlp: false,
    act: activation(f, "hidden_act", "gelu"),
    vocabSize: f.int("vocab_size"),
    nCtx: f.int("max_position_embeddings"),
    positional: "none",
    rotary: { dim: rotaryDim, base: f.numOr(baseField, 10000, Number.MIN_VALUE), style: "half" },
    norm: "layernorm",
    normEps: f.numOr("layer_norm_eps", 1e-5, 0),
    parallelResidual: f.boolOr("use_parallel_residual", true),
    attnScale: 1 / Math.sqrt(dHead),
  };
  return { config, tied: f.boolOr("tie_word_embeddings", false) };
};

export const neoxWeights = (c: ModelConfig, tied: boolean, t: TensorTable): Mapped => {
  const m = new Mapper(t);
  const p = m.has("gpt_neox.embed_in.weight") ? "gpt_neox." : "";
  const d = c.dModel;
  const dMlp = c.dMlp!;
  const H = c.nHeads;
  const dh = c.dHead;
  const norm = (canonical: string, name: string) => {
    m.copy(`${canonical}.w`, `${name}.weight`, [d]);
    m.copy(`${canonical}.b`, `${name}.bias`, [d]);
  };

  const embed = m.copy("embed.W_E", `${p}embed_in.weight`, [c.vocabSize, d]); // [vocab, d]
  for (let l = 0; l < c.nLayers; l++) {
    const h = `${p}layers.${l}`;
    const b = `blocks.${l}`;
    norm(`${b}.ln1`, `${h}.input_layernorm`);
    const qkvName = `${h}.attention.query_key_value`;
    const qkv = m.take(`${qkvName}.weight`, [H * 3 * dh, d]); // [H·(q|k|v)·dh, d]
    const qkvBias = m.takeOptional(`${qkvName}.bias`, [H * 3 * dh]);
    ["Q", "K", "V"].forEach((x, k) => {
      const rows = (hh: number, j: number) => hh * 3 * dh + k * dh + j;
      m.put(`${b}.attn.W_${x}`, `${qkvName}.weight`, headsFromRows(qkv, H, dh, rows));
      if (qkvBias !== null) m.put(`${b}.attn.b_${x}`, `${qkvName}.bias`, headBias(qkvBias, H, dh, rows));
    });
    const wo = m.take(`${h}.attention.dense.weight`, [d, H * dh]); // [d, H·dh]
    m.put(`${b}.attn.W_O`, `${h}.attention.dense.weight`, outputFromRows(wo, H, dh));
    m.copyOptional(`${b}.attn.b_O`, `${h}.attention.dense.bias`, [d]);
    norm(`${b}.ln2`, `${h}.post_attention_layernorm`);
    const wIn = `${h}.mlp.dense_h_to_4h.weight`;
    m.put(`${b}.mlp.W_in`, wIn, transpose(m.take(wIn, [dMlp, d])));
    m.copyOptional(`${b}.mlp.b_in`, `${h}.mlp.dense_h_to_4h.bias`, [dMlp]);
    const wOut = `${h}.mlp.dense_4h_to_h.weight`;
    m.put(`${b}.mlp.W_out`, wOut, transpose(m.take(wOut, [d, dMlp])));
    m.copyOptional(`${b}.mlp.b_out`, `${h}.mlp.dense_4h_to_h.bias`, [d]);
  }
  norm("ln_final", `${p}final_layer_norm`);
  if (tied) m.put("unembed.W_U", `${p}embed_in.weight`, transpose(embed));
  else m.put("unembed.W_U", "embed_out.weight", transpose(m.take("embed_out.weight", [c.vocabSize, d])));
  // attention.bias / masked_bias / rotary_emb.inv_freq: buffers; embed_out when tied.
  return m.done(
    c,
    (n) =>
      /\.attention\.(bias|masked_bias|rotary_emb\.inv_freq)$/.test(n) || (tied && n === "embed_out.weight"),
  );
};
