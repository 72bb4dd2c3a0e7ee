import { basename, extname } from "node:path";
import type { ModelConfig } from "../model/config.ts";
import type { HostTensor } from "../tensor/host-tensor.ts";
import type { Fields } from "./fields.ts";
import { contiguousHeads, headsFromRows, outputFromRows } from "./layout.ts";
import { ggufGatedMlp, ggufHead } from "./gguf-llama.ts";
import { type Mapped, Mapper, type TensorTable } from "./table.ts";

/**
 * GGUF, architecture "gemma2" (llama.cpp's names; matrices [out, in], ne = [in, out]):
 *   token_embd [vocab, d]; blk.{l}.attn_norm (ln1), post_attention_norm (ln1_post), ffn_norm (ln2,
 *   the pre-feed-forward norm), post_ffw_norm (ln2_post) [d]; attn_q [H·dh, d]; attn_k / attn_v
 *   [H_kv·dh, d]; attn_output [d, H·dh]; ffn_gate / ffn_up [d_mlp, d]; ffn_down [d, d_mlp];
 *   output_norm [d]; output [vocab, d] (absent → tied to token_embd).
 * Metadata: gemma2.attn_logit_softcapping, gemma2.final_logit_softcapping (absent: Gemma2Config's
 * 50 and 30), gemma2.attention.sliding_window (on even layers, as llama.cpp's gemma2 pattern).
 * What llama.cpp's converter already did, and what it left to run time (so what we fold here):
 * - norm weights are stored as 1 + w (the converter adds 1), so they are canonical as they are;
 * - the embedding is stored unscaled (llama.cpp multiplies by √d at run time): canonical
 *   W_E = √d·E, rounded as hf-gemma.ts does; the tied W_U stays Eᵀ;
 * - q/k rows are in Hugging Face's order (no permutation) and llama.cpp ropes gemma2 NEOX-style:
 *   style "half";
 * - the file has no query_pre_attn_scalar: llama.cpp scales scores by 1/√key_length, except for
 *   the 27B model (46 layers), which it scales by 1/√(d/H) (Gemma 2's own query_pre_attn_scalar
 *   values); we do the same.
 * The MLP is GeGLU with tanh GELU (llama.cpp's gemma2 graph).
 */
export const mapGgufGemma2 = (path: string, f: Fields, t: TensorTable, vocabSize: number): Mapped => {
  const p = (k: string) => `gemma2.${k}`;
  f.unsupportedUnless(p("rope.scaling.type"), (v) => v === "none", '"none" (no RoPE scaling)');
  const d = f.int(p("embedding_length"));
  const nHeads = f.int(p("attention.head_count"));
  const nKvHeads = f.intOr(p("attention.head_count_kv"), nHeads);
  if (nHeads % nKvHeads !== 0)
    f.fail(p("attention.head_count_kv"), `a divisor of ${p("attention.head_count")} = ${nHeads}`, nKvHeads);
  if (!f.has(p("attention.key_length")) && d % nHeads !== 0)
    f.fail(p("attention.head_count"), `a divisor of ${p("embedding_length")} = ${d}`, nHeads);
  const dHead = f.intOr(p("attention.key_length"), d / nHeads);
  if (dHead % 2 !== 0) f.fail(p("attention.key_length"), "an even head size for rotary", dHead);
  const dValue = f.intOr(p("attention.value_length"), dHead);
  if (dValue !== dHead)
    f.fail(p("attention.value_length"), `${p("attention.key_length")} = ${dHead}`, dValue);
  const nLayers = f.int(p("block_count"));
  const config: ModelConfig = {
    name: basename(path, extname(path)),
    family: "gemma2",
    dModel: d,
    nLayers,
    nHeads,
    nKvHeads,
    dHead,
    dMlp: f.int(p("feed_forward_length")),
    gatedMlp: true,
    act: "gelu_tanh",
    vocabSize,
    nCtx: f.int(p("context_length")),
    positional: "none",
    rotary: { dim: dHead, base: f.numOr(p("rope.freq_base"), 10000, Number.MIN_VALUE), style: "half" },
    norm: "rmsnorm",
    normEps: f.numOr(p("attention.layer_norm_rms_epsilon"), 1e-6, 0),
    parallelResidual: false,
    attnScale: 1 / Math.sqrt(nLayers === 46 ? d / nHeads : dHead),
    postNorms: true,
    attnSoftcap: f.numOr(p("attn_logit_softcapping"), 50, Number.MIN_VALUE),
    finalSoftcap: f.numOr(p("final_logit_softcapping"), 30, Number.MIN_VALUE),
    slidingWindow: { size: f.intOr(p("attention.sliding_window"), 4096), layers: "even" },
  };
  return mapWeights(config, t);
};

/** √d·E with √d rounded to float32 first and each product to float32 (as hf-gemma.ts). */
const scaled = (e: HostTensor, d: number): HostTensor => {
  const s = Math.fround(Math.sqrt(d));
  return { data: e.data.map((x) => s * x), shape: e.shape };
};

const mapWeights = (c: ModelConfig, t: TensorTable): Mapped => {
  const m = new Mapper(t);
  const d = c.dModel;
  const dh = c.dHead;
  const heads = contiguousHeads(dh);
  const embed = m.take("token_embd.weight", [c.vocabSize, d]); // [vocab, d]
  m.put("embed.W_E", "token_embd.weight", scaled(embed, d));
  for (let l = 0; l < c.nLayers; l++) {
    const k = `blk.${l}`;
    const b = `blocks.${l}`;
    for (const [canonical, name] of [
      ["ln1", "attn_norm"],
      ["ln1_post", "post_attention_norm"],
      ["ln2", "ffn_norm"],
      ["ln2_post", "post_ffw_norm"],
    ] as const)
      m.copy(`${b}.${canonical}.w`, `${k}.${name}.weight`, [d]);
    for (const [x, name, n] of [
      ["Q", "attn_q", c.nHeads],
      ["K", "attn_k", c.nKvHeads],
      ["V", "attn_v", c.nKvHeads],
    ] as const) {
      const w = m.take(`${k}.${name}.weight`, [n * dh, d]); // [n·dh, d]
      m.put(`${b}.attn.W_${x}`, `${k}.${name}.weight`, headsFromRows(w, n, dh, heads));
    }
    const wo = m.take(`${k}.attn_output.weight`, [d, c.nHeads * dh]); // [d, H·dh]
    m.put(`${b}.attn.W_O`, `${k}.attn_output.weight`, outputFromRows(wo, c.nHeads, dh));
    ggufGatedMlp(m, c, l);
  }
  return ggufHead(m, c, embed);
};
