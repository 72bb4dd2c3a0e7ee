import { UnsupportedError } from "../errors/errors.ts";
import type { ModelConfig, RopeScaling, RotaryStyle } from "../model/config.ts";
import type { HostTensor } from "../tensor/host-tensor.ts";
import { describeValue, type Fields } from "./fields.ts";
import { contiguousHeads, headBias, headsFromRows, outputFromRows, transpose } from "./layout.ts";
import { type Mapped, Mapper, type TensorTable } from "./table.ts";

/**
 * GGUF architectures in the LLaMA layout (llama.cpp naming; matrices [out, in], ne = [in, out]):
 *   token_embd [vocab, d]; blk.{l}.attn_norm [d]; attn_q [H·dh, d]; attn_k / attn_v [H_kv·dh, d]
 *   (+ .bias [n·dh]); attn_output [d, H·dh]; ffn_norm [d]; ffn_gate / ffn_up [d_mlp, d];
 *   ffn_down [d, d_mlp]; output_norm [d]; output [vocab, d] (absent → tied to token_embd);
 *   rope_freqs [r/2] (optional: Llama 3.1's rescaled frequencies, below).
 * Hyperparameters are `<arch>.*` keys (llama.embedding_length, qwen2.embedding_length, …).
 *
 * "llama": llama.cpp's LLAMA rope is the "normal" mode, rotating adjacent pairs (2i, 2i+1) like
 * Meta's and llama2.c's code. Its converters keep Meta/llama2.c q/k rows as they are and undo
 * the Hugging Face rotate-half permutation, so q/k rows here are in interleaved order: style
 * "interleaved", no re-permutation. (Checked: stories260K.gguf's attn_q/attn_k bytes equal the
 * llama2.c .bin's wq/wk, and only "interleaved" reproduces its reference logits.)
 *
 * "qwen2": llama.cpp rotates QWEN2 in NEOX mode (pairs i, i + r/2) and its converter writes the
 * Hugging Face q/k rows unpermuted: style "half". q/k/v biases are required, as in Hugging Face.
 *
 * Context: <arch>.context_length is taken as written, although converters may write a default
 * (stories260K.gguf says 2048; the model was trained with 512, as its llama2.c header says).
 */
interface LlamaLayout {
  readonly arch: string;
  readonly family: ModelConfig["family"];
  readonly style: RotaryStyle;
  readonly qkvBias: boolean;
}

export const ggufLlama = (f: Fields, t: TensorTable, name: string): Mapped =>
  mapLlamaLayout(f, t, name, { arch: "llama", family: "llama", style: "interleaved", qkvBias: false });

export const ggufQwen2 = (f: Fields, t: TensorTable, name: string): Mapped =>
  mapLlamaLayout(f, t, name, { arch: "qwen2", family: "qwen2", style: "half", qkvBias: true });

const mapLlamaLayout = (f: Fields, t: TensorTable, name: string, a: LlamaLayout): Mapped => {
  const k = (key: string) => `${a.arch}.${key}`;
  const d = f.int(k("embedding_length"));
  const nHeads = f.int(k("attention.head_count"));
  const nKvHeads = f.intOr(k("attention.head_count_kv"), nHeads);
  if (nHeads % nKvHeads !== 0) {
    f.fail(k("attention.head_count_kv"), `a divisor of ${k("attention.head_count")} = ${nHeads}`, nKvHeads);
  }
  if (!f.has(k("attention.key_length")) && d % nHeads !== 0) {
    f.fail(k("attention.head_count"), `a divisor of ${k("embedding_length")} = ${d}`, nHeads);
  }
  const dHead = f.intOr(k("attention.key_length"), d / nHeads);
  const rotaryDim = f.intOr(k("rope.dimension_count"), dHead);
  if (rotaryDim > dHead || rotaryDim % 2 !== 0) {
    f.fail(k("rope.dimension_count"), `an even number ≤ d_head = ${dHead}`, rotaryDim);
  }
  const m = new Mapper(t);
  const scaling = ropeScaling(f, a.arch, m, rotaryDim);
  const config: ModelConfig = {
    name,
    family: a.family,
    dModel: d,
    nLayers: f.int(k("block_count")),
    nHeads,
    nKvHeads,
    dHead,
    dMlp: f.int(k("feed_forward_length")),
    gatedMlp: true,
    act: "silu",
    vocabSize: vocabSize(f, a.arch, t),
    nCtx: f.int(k("context_length")),
    positional: "none",
    rotary: {
      dim: rotaryDim,
      base: f.numOr(k("rope.freq_base"), 10000, Number.MIN_VALUE),
      style: a.style,
      ...(scaling === null ? {} : { scaling }),
    },
    norm: "rmsnorm",
    normEps: f.numOr(k("attention.layer_norm_rms_epsilon"), 1e-5, 0),
    parallelResidual: false,
    attnScale: 1 / Math.sqrt(dHead),
  };
  return mapLlamaWeights(config, m, a.qkvBias);
};

/**
 * RoPE scaling as llama.cpp reads it. Llama 3.1's converter writes no scaling type for
 * rope_type "llama3": it stores the rescaling as the tensor rope_freqs.weight, one divisor per
 * pair (1 in the kept band, the factor in the divided band, 1 / ((1 − s)/factor + s) between),
 * and llama.cpp divides each frequency by it. We do the same (scaling kind "divisors"), so the
 * file's own numbers decide. What we do not implement is an UnsupportedError naming the key:
 * <arch>.rope.scaling.type other than "none" (or "linear" with no factor), and a linear
 * <arch>.rope.scaling.factor (or legacy rope.scale_linear) other than 1, which llama.cpp applies
 * whatever the type says. <arch>.rope.scaling.original_context_length is informational.
 */
const ropeScaling = (f: Fields, arch: string, m: Mapper, rotaryDim: number): RopeScaling | null => {
  const typeKey = `${arch}.rope.scaling.type`;
  f.unsupportedUnless(
    typeKey,
    (v) => v === "none" || v === "linear",
    '"none", or "linear" with factor 1 (RoPE scalings other than Llama 3.1\'s rope_freqs are not implemented)',
  );
  for (const key of [`${arch}.rope.scaling.factor`, `${arch}.rope.scale_linear`]) {
    f.unsupportedUnless(
      key,
      (v) => v === 0 || v === 1,
      "1 or absent (linear RoPE scaling is not implemented)",
    );
  }
  const freqs = m.takeOptional("rope_freqs.weight", [rotaryDim / 2]);
  if (freqs === null) return null;
  const bad = freqs.data.findIndex((v) => !(v > 0));
  if (bad >= 0) {
    throw new UnsupportedError({
      file: m.t.file,
      what: "tensor rope_freqs.weight",
      expected: "positive frequency divisors",
      found: `${describeValue(freqs.data[bad])} at index ${bad}`,
    });
  }
  return { kind: "divisors", divisors: Array.from(freqs.data) };
};

/** <arch>.vocab_size, else the token list's length, else token_embd's rows. */
export const vocabSize = (f: Fields, arch: string, t: TensorTable): number => {
  const key = `${arch}.vocab_size`;
  if (f.has(key)) return f.int(key);
  const tokens = f.raw("tokenizer.ggml.tokens");
  if (Array.isArray(tokens) && tokens.length > 0) return tokens.length;
  const rows = t.entry("token_embd.weight")?.shape[0];
  if (rows !== undefined && rows > 0) return rows;
  return f.fail(key, "a vocabulary size (or tokenizer.ggml.tokens, or token_embd.weight)", undefined);
};

const mapLlamaWeights = (c: ModelConfig, m: Mapper, qkvBias: boolean): Mapped => {
  const d = c.dModel;
  const dh = c.dHead;
  const heads = contiguousHeads(dh);
  const embed = m.copy("embed.W_E", "token_embd.weight", [c.vocabSize, d]); // [vocab, d]
  for (let l = 0; l < c.nLayers; l++) {
    const k = `blk.${l}`;
    const b = `blocks.${l}`;
    m.copy(`${b}.ln1.w`, `${k}.attn_norm.weight`, [d]);
    for (const [x, name, n] of [
      ["Q", "attn_q", c.nHeads],
      ["K", "attn_k", c.nKvHeads],
      ["V", "attn_v", c.nKvHeads],
    ] as const) {
      const w = m.take(`${k}.${name}.weight`, [n * dh, d]); // [n·dh, d]
      m.put(`${b}.attn.W_${x}`, `${k}.${name}.weight`, headsFromRows(w, n, dh, heads));
      const biasName = `${k}.${name}.bias`;
      const bias = qkvBias ? m.take(biasName, [n * dh]) : m.takeOptional(biasName, [n * dh]);
      if (bias !== null) m.put(`${b}.attn.b_${x}`, biasName, headBias(bias, n, dh, heads));
    }
    const wo = m.take(`${k}.attn_output.weight`, [d, c.nHeads * dh]); // [d, H·dh]
    m.put(`${b}.attn.W_O`, `${k}.attn_output.weight`, outputFromRows(wo, c.nHeads, dh));
    m.copyOptional(`${b}.attn.b_O`, `${k}.attn_output.bias`, [d]);
    m.copy(`${b}.ln2.w`, `${k}.ffn_norm.weight`, [d]);
    ggufGatedMlp(m, c, l);
  }
  return ggufHead(m, c, embed);
};

/** blk.{l}'s gated MLP (llama.cpp: ffn_gate / ffn_up [d_mlp, d], ffn_down [d, d_mlp]) → W_gate, W_in, W_out. */
export const ggufGatedMlp = (m: Mapper, c: ModelConfig, l: number): void => {
  const d = c.dModel;
  const dMlp = c.dMlp!;
  for (const [canonical, name, shape] of [
    ["W_gate", "ffn_gate", [dMlp, d]],
    ["W_in", "ffn_up", [dMlp, d]],
    ["W_out", "ffn_down", [d, dMlp]],
  ] as const) {
    const stored = `blk.${l}.${name}.weight`;
    m.put(`blocks.${l}.mlp.${canonical}`, stored, transpose(m.take(stored, shape)));
  }
};

/** output_norm and the unembedding: `output` [vocab, d], or absent → tied to token_embd (`embed`, as stored). */
export const ggufHead = (m: Mapper, c: ModelConfig, embed: HostTensor): Mapped => {
  m.copy("ln_final.w", "output_norm.weight", [c.dModel]);
  if (m.has("output.weight"))
    m.put("unembed.W_U", "output.weight", transpose(m.take("output.weight", [c.vocabSize, c.dModel])));
  else m.put("unembed.W_U", "token_embd.weight", transpose(embed));
  return m.done(c);
};
