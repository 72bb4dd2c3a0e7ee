import { basename, extname } from "node:path";
import { ConfigError, UnsupportedError, WeightFileError } from "../errors/errors.ts";
import type { ModelConfig } from "../model/config.ts";
import type { HostTensor } from "../tensor/host-tensor.ts";
import { type ByteSource, withFile } from "./bytes.ts";
import { decodeF32 } from "./dtype.ts";
import { checkFinite } from "./finite.ts";
import { contiguousHeads, headsFromRows, outputFromRows, transpose } from "./layout.ts";
import { type Mapped, Mapper, type TensorTable } from "./table.ts";

/**
 * llama2.c v0 checkpoint (karpathy/llama2.c run.c):
 *   7 × int32 LE: dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len
 *     (vocab_size < 0: the classifier is stored separately, not shared with the embedding)
 *   float32 LE arrays, in order (matrices [out, in], y = W x; hs = dim / n_heads):
 *     token_embedding [vocab, dim]   rms_att [L, dim]
 *     wq [L, n_heads·hs, dim]        wk, wv [L, n_kv·hs, dim]     wo [L, dim, n_heads·hs]
 *     rms_ffn [L, dim]               w1 [L, hidden, dim]   w2 [L, dim, hidden]   w3 [L, hidden, dim]
 *     rms_final [dim]                freq_cis_real, freq_cis_imag [seq_len, hs/2] (legacy; skipped)
 *     wcls [vocab, dim]              only when vocab_size < 0
 * Forward: RMSNorm eps 1e-5, rotary on adjacent pairs (2i, 2i+1), base 10000, SwiGLU
 * w2(silu(w1 x) ⊙ w3 x): W_gate = w1^T, W_in = w3^T, W_out = w2^T.
 */

const HEADER_FIELDS = [
  "dim",
  "hidden_dim",
  "n_layers",
  "n_heads",
  "n_kv_heads",
  "vocab_size",
  "seq_len",
] as const;
const HEADER_BYTES = 28;
/** llama2.c's versioned exports (export.py --version 1/2) start with this magic. */
const AK42 = 0x616b3432;

export interface Llama2cHeader {
  readonly dim: number;
  readonly hiddenDim: number;
  readonly nLayers: number;
  readonly nHeads: number;
  readonly nKvHeads: number;
  readonly vocabSize: number;
  readonly seqLen: number;
  readonly sharedClassifier: boolean;
}

interface Block {
  readonly name: string;
  readonly shape: readonly number[];
}

/** Every float32 array of the file in order, named after run.c's TransformerWeights fields. */
const layout = (h: Llama2cHeader): Block[] => {
  const { dim, hiddenDim: hid, nLayers: L, nHeads, nKvHeads, vocabSize: V, seqLen } = h;
  const hs = dim / nHeads;
  const blocks: Block[] = [
    { name: "token_embedding_table", shape: [V, dim] },
    { name: "rms_att_weight", shape: [L, dim] },
    { name: "wq", shape: [L, nHeads * hs, dim] },
    { name: "wk", shape: [L, nKvHeads * hs, dim] },
    { name: "wv", shape: [L, nKvHeads * hs, dim] },
    { name: "wo", shape: [L, dim, nHeads * hs] },
    { name: "rms_ffn_weight", shape: [L, dim] },
    { name: "w1", shape: [L, hid, dim] },
    { name: "w2", shape: [L, dim, hid] },
    { name: "w3", shape: [L, hid, dim] },
    { name: "rms_final_weight", shape: [dim] },
    { name: "freq_cis_real", shape: [seqLen, hs / 2] },
    { name: "freq_cis_imag", shape: [seqLen, hs / 2] },
  ];
  if (!h.sharedClassifier) blocks.push({ name: "wcls", shape: [V, dim] });
  return blocks;
};

const count = (shape: readonly number[]): bigint => shape.reduce((a, b) => a * BigInt(b), 1n);

export const parseLlama2cHeader = (src: ByteSource): Llama2cHeader => {
  const file = src.name;
  if (src.size < HEADER_BYTES) {
    throw new WeightFileError({
      file,
      expected: `at least ${HEADER_BYTES} bytes (the 7 × int32 llama2.c header)`,
      found: `${src.size} bytes`,
    });
  }
  const dv = new DataView(src.read(0, HEADER_BYTES).buffer);
  if (dv.getUint32(0, true) === AK42) {
    throw new UnsupportedError({
      file,
      what: "llama2.c checkpoint version",
      expected: "a legacy v0 checkpoint (7 × int32 header)",
      found: 'a versioned export (magic "ak42"); export with --version 0',
    });
  }
  const v = HEADER_FIELDS.map((_, i) => dv.getInt32(4 * i, true));
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, vocab, seqLen] = v as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const bad = (field: string, expected: string, found: number): never => {
    throw new ConfigError({ file, field: `header.${field}`, expected, found: String(found) });
  };
  HEADER_FIELDS.forEach((name, i) => {
    if (name !== "vocab_size" && v[i]! <= 0) bad(name, "a positive int32", v[i]!);
  });
  if (vocab === 0 || vocab === -(2 ** 31))
    bad("vocab_size", "a non-zero int32 (negative: unshared classifier)", vocab);
  if (dim % nHeads !== 0) bad("n_heads", `a divisor of dim = ${dim}`, nHeads);
  if (nHeads % nKvHeads !== 0) bad("n_kv_heads", `a divisor of n_heads = ${nHeads}`, nKvHeads);
  if ((dim / nHeads) % 2 !== 0) bad("n_heads", `dim / n_heads even (rotary pairs); dim = ${dim}`, nHeads);
  return {
    dim,
    hiddenDim,
    nLayers,
    nHeads,
    nKvHeads,
    vocabSize: Math.abs(vocab),
    seqLen,
    sharedClassifier: vocab > 0,
  };
};

export const llama2cConfig = (h: Llama2cHeader, name: string): ModelConfig => {
  const dHead = h.dim / h.nHeads;
  return {
    name,
    family: "llama2c",
    dModel: h.dim,
    nLayers: h.nLayers,
    nHeads: h.nHeads,
    nKvHeads: h.nKvHeads,
    dHead,
    dMlp: h.hiddenDim,
    gatedMlp: true,
    act: "silu",
    vocabSize: h.vocabSize,
    nCtx: h.seqLen,
    positional: "none",
    rotary: { dim: dHead, base: 10000, style: "interleaved" },
    norm: "rmsnorm",
    normEps: 1e-5,
    parallelResidual: false,
    attnScale: 1 / Math.sqrt(dHead),
  };
};

/**
 * The file's arrays as a table (names from run.c, per-layer arrays split as `wq.{l}`), after
 * checking the file is exactly as long as the header implies. Reads must be finite (a NaN in layer
 * l of wq is named as tensor `wq.{l}`, index within that layer).
 */
const llama2cTable = (src: ByteSource, h: Llama2cHeader): TensorTable => {
  const file = src.name;
  const blocks = layout(h);
  const expectedBytes = BigInt(HEADER_BYTES) + 4n * blocks.reduce((a, b) => a + count(b.shape), 0n);
  if (BigInt(src.size) !== expectedBytes) {
    throw new WeightFileError({
      file,
      expected: `${expectedBytes} bytes (header: ${h.dim}/${h.hiddenDim}/${h.nLayers}/${h.nHeads}/${h.nKvHeads}/${h.sharedClassifier ? "" : "-"}${h.vocabSize}/${h.seqLen}, ${h.sharedClassifier ? "shared" : "separate"} classifier)`,
      found: `${src.size} bytes`,
    });
  }
  // Split stacked [L, ...] arrays into per-layer entries.
  const entries = new Map<string, { shape: number[]; offset: number }>();
  let offset = HEADER_BYTES;
  const perLayer = new Set(["rms_att_weight", "wq", "wk", "wv", "wo", "rms_ffn_weight", "w1", "w2", "w3"]);
  for (const b of blocks) {
    if (perLayer.has(b.name)) {
      const inner = b.shape.slice(1);
      const bytes = 4 * Number(count(inner));
      for (let l = 0; l < h.nLayers; l++)
        entries.set(`${b.name}.${l}`, { shape: inner, offset: offset + l * bytes });
    } else {
      entries.set(b.name, { shape: [...b.shape], offset });
    }
    offset += 4 * Number(count(b.shape));
  }
  return {
    file,
    names: () => [...entries.keys()],
    entry: (name) => {
      const e = entries.get(name);
      return e === undefined ? undefined : { name, dtype: "F32", shape: e.shape, file };
    },
    read: (name): HostTensor => {
      const e = entries.get(name);
      if (e === undefined) {
        throw new WeightFileError({
          file,
          tensor: name,
          expected: "an array of the llama2.c layout",
          found: "none",
        });
      }
      const data = decodeF32(src.read(e.offset, 4 * Number(count(e.shape))));
      return checkFinite({ data, shape: e.shape }, file, name);
    },
  };
};

const mapLlama2c = (c: ModelConfig, t: TensorTable): Mapped => {
  const m = new Mapper(t);
  const d = c.dModel;
  const dh = c.dHead;
  const hid = c.dMlp!;
  const heads = contiguousHeads(dh);
  const embed = m.copy("embed.W_E", "token_embedding_table", [c.vocabSize, d]); // [vocab, d]
  for (let l = 0; l < c.nLayers; l++) {
    const b = `blocks.${l}`;
    m.copy(`${b}.ln1.w`, `rms_att_weight.${l}`, [d]);
    m.put(
      `${b}.attn.W_Q`,
      `wq.${l}`,
      headsFromRows(m.take(`wq.${l}`, [c.nHeads * dh, d]), c.nHeads, dh, heads),
    );
    m.put(
      `${b}.attn.W_K`,
      `wk.${l}`,
      headsFromRows(m.take(`wk.${l}`, [c.nKvHeads * dh, d]), c.nKvHeads, dh, heads),
    );
    m.put(
      `${b}.attn.W_V`,
      `wv.${l}`,
      headsFromRows(m.take(`wv.${l}`, [c.nKvHeads * dh, d]), c.nKvHeads, dh, heads),
    );
    m.put(`${b}.attn.W_O`, `wo.${l}`, outputFromRows(m.take(`wo.${l}`, [d, c.nHeads * dh]), c.nHeads, dh));
    m.copy(`${b}.ln2.w`, `rms_ffn_weight.${l}`, [d]);
    m.put(`${b}.mlp.W_gate`, `w1.${l}`, transpose(m.take(`w1.${l}`, [hid, d])));
    m.put(`${b}.mlp.W_in`, `w3.${l}`, transpose(m.take(`w3.${l}`, [hid, d])));
    m.put(`${b}.mlp.W_out`, `w2.${l}`, transpose(m.take(`w2.${l}`, [d, hid])));
  }
  m.copy("ln_final.w", "rms_final_weight", [d]);
  if (m.has("wcls")) m.put("unembed.W_U", "wcls", transpose(m.take("wcls", [c.vocabSize, d])));
  else m.put("unembed.W_U", "token_embedding_table", transpose(embed));
  // The legacy RoPE tables are recomputed by the builder.
  return m.done(c, (n) => n.startsWith("freq_cis_"));
};

/** Load a llama2.c v0 `.bin`; the model is named after the file. */
export const mapLlama2cFile = (path: string): Mapped =>
  withFile(path, (src) => {
    const h = parseLlama2cHeader(src);
    const t = llama2cTable(src, h);
    return mapLlama2c(llama2cConfig(h, basename(path, extname(path))), t);
  });
