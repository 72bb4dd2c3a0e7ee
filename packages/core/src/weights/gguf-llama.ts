import { basename, extname } from "node:path";
import { UnsupportedError } from "../errors/errors.ts";
import type { ModelConfig } from "../model/config.ts";
import { Fields } from "./fields.ts";
import { mapGgufGemma2 } from "./gguf-gemma2.ts";
import { ggufTable, readGgufHeader } from "./gguf.ts";
import { contiguousHeads, headBias, headsFromRows, outputFromRows, transpose } from "./layout.ts";
import { type Mapped, Mapper, type TensorTable } from "./table.ts";

/**
 * GGUF, architecture "llama" (llama.cpp naming; matrices [out, in], ne = [in, out]):
 *   token_embd [vocab, d]; blk.{l}.attn_norm [d]; attn_q [H·dh, d]; attn_k / attn_v [H_kv·dh, d];
 *   attn_output [d, H·dh]; ffn_norm [d]; ffn_gate / ffn_up [d_mlp, d]; ffn_down [d, d_mlp];
 *   output_norm [d]; output [vocab, d] (absent → tied to token_embd).
 *
 * Rotary: llama.cpp's LLAMA rope is the "normal" mode, rotating adjacent pairs (2i, 2i+1) like
 * Meta's and llama2.c's code. Its converters keep Meta/llama2.c q/k rows as they are and undo
 * the Hugging Face rotate-half permutation, so q/k rows here are in interleaved order: style
 * "interleaved", no re-permutation. (Checked: stories260K.gguf's attn_q/attn_k bytes equal the
 * llama2.c .bin's wq/wk, and only "interleaved" reproduces its reference logits.)
 *
 * Context: llama.context_length is taken as written, although converters may write a default
 * (stories260K.gguf says 2048; the model was trained with 512, as its llama2.c header says).
 */
export const mapGgufFile = (path: string): Mapped => {
  const header = readGgufHeader(path);
  const f = new Fields(path, header.metadata);
  const arch = f.str("general.architecture");
  if (arch === "gemma2") {
    const t = ggufTable(path, header);
    return mapGgufGemma2(path, f, t, vocabSize(f, t, arch));
  }
  if (arch !== "llama") {
    throw new UnsupportedError({
      file: path,
      what: "GGUF architecture",
      expected: "llama, gemma2",
      found: arch,
    });
  }
  f.unsupportedUnless("llama.rope.scaling.type", (v) => v === "none", '"none" (no RoPE scaling)');
  const t = ggufTable(path, header);
  const d = f.int("llama.embedding_length");
  const nHeads = f.int("llama.attention.head_count");
  const nKvHeads = f.intOr("llama.attention.head_count_kv", nHeads);
  if (nHeads % nKvHeads !== 0) {
    f.fail("llama.attention.head_count_kv", `a divisor of llama.attention.head_count = ${nHeads}`, nKvHeads);
  }
  if (!f.has("llama.attention.key_length") && d % nHeads !== 0) {
    f.fail("llama.attention.head_count", `a divisor of llama.embedding_length = ${d}`, nHeads);
  }
  const dHead = f.intOr("llama.attention.key_length", d / nHeads);
  const rotaryDim = f.intOr("llama.rope.dimension_count", dHead);
  if (rotaryDim > dHead || rotaryDim % 2 !== 0) {
    f.fail("llama.rope.dimension_count", `an even number ≤ d_head = ${dHead}`, rotaryDim);
  }
  const config: ModelConfig = {
    name: basename(path, extname(path)),
    family: "llama",
    dModel: d,
    nLayers: f.int("llama.block_count"),
    nHeads,
    nKvHeads,
    dHead,
    dMlp: f.int("llama.feed_forward_length"),
    gatedMlp: true,
    act: "silu",
    vocabSize: vocabSize(f, t, arch),
    nCtx: f.int("llama.context_length"),
    positional: "none",
    rotary: {
      dim: rotaryDim,
      base: f.numOr("llama.rope.freq_base", 10000, Number.MIN_VALUE),
      style: "interleaved",
    },
    norm: "rmsnorm",
    normEps: f.numOr("llama.attention.layer_norm_rms_epsilon", 1e-5, 0),
    parallelResidual: false,
    attnScale: 1 / Math.sqrt(dHead),
  };
  return mapGgufLlama(config, t);
};

/** {arch}.vocab_size, else the token list's length, else token_embd's rows. */
const vocabSize = (f: Fields, t: TensorTable, arch: string): number => {
  if (f.has(`${arch}.vocab_size`)) return f.int(`${arch}.vocab_size`);
  const tokens = f.raw("tokenizer.ggml.tokens");
  if (Array.isArray(tokens) && tokens.length > 0) return tokens.length;
  const rows = t.entry("token_embd.weight")?.shape[0];
  if (rows !== undefined && rows > 0) return rows;
  return f.fail(
    `${arch}.vocab_size`,
    "a vocabulary size (or tokenizer.ggml.tokens, or token_embd.weight)",
    undefined,
  );
};

const mapGgufLlama = (c: ModelConfig, t: TensorTable): Mapped => {
  const m = new Mapper(t);
  const d = c.dModel;
  const dh = c.dHead;
  const dMlp = c.dMlp!;
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
      const bias = m.takeOptional(`${k}.${name}.bias`, [n * dh]);
      if (bias !== null) m.put(`${b}.attn.b_${x}`, `${k}.${name}.bias`, headBias(bias, n, dh, heads));
    }
    const wo = m.take(`${k}.attn_output.weight`, [d, c.nHeads * dh]); // [d, H·dh]
    m.put(`${b}.attn.W_O`, `${k}.attn_output.weight`, outputFromRows(wo, c.nHeads, dh));
    m.copyOptional(`${b}.attn.b_O`, `${k}.attn_output.bias`, [d]);
    m.copy(`${b}.ln2.w`, `${k}.ffn_norm.weight`, [d]);
    for (const [canonical, name, shape] of [
      ["W_gate", "ffn_gate", [dMlp, d]],
      ["W_in", "ffn_up", [dMlp, d]],
      ["W_out", "ffn_down", [d, dMlp]],
    ] as const) {
      m.put(`${b}.mlp.${canonical}`, `${k}.${name}.weight`, transpose(m.take(`${k}.${name}.weight`, shape)));
    }
  }
  m.copy("ln_final.w", "output_norm.weight", [d]);
  if (m.has("output.weight"))
    m.put("unembed.W_U", "output.weight", transpose(m.take("output.weight", [c.vocabSize, d])));
  else m.put("unembed.W_U", "token_embd.weight", transpose(embed));
  return m.done(c);
};
