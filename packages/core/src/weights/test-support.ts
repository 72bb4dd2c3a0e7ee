/**
 * Helpers for the weights tests: temp folders, hand-made files (safetensors with arbitrary
 * headers, GGUF, llama2.c) and an independent minimal safetensors reader (shares no code with
 * ours) to check mapped tensors against raw file values.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect } from "vitest";
import { isPatchbayError } from "../errors/errors.ts";
import type { HostTensor } from "../tensor/host-tensor.ts";
import { loadModelSync } from "./load.ts";
import { readSafetensors, writeSafetensors } from "./safetensors.ts";
import { type GgufKv, type GgufTensorSpec, makeGguf } from "./test-gguf.ts";

/** A fresh temp folder, removed after the test file. */
export const tempDir = (() => {
  const made: string[] = [];
  afterAll(() => {
    for (const d of made) rmSync(d, { recursive: true, force: true });
  });
  return (): string => {
    const d = mkdtempSync(join(tmpdir(), "patchbay-weights-"));
    made.push(d);
    return d;
  };
})();

/** Element of a row-major tensor. */
export const at = (t: HostTensor, ...idx: number[]): number => {
  let flat = 0;
  idx.forEach((i, k) => {
    flat = flat * t.shape[k]! + i;
  });
  return t.data[flat]!;
};

/** A safetensors file with exactly the given header object and data bytes. */
export const rawSafetensors = (header: unknown, data: Uint8Array = new Uint8Array(0)): Uint8Array => {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
};

export interface RawTensor {
  readonly dtype: string;
  readonly shape: number[];
  readonly data: Float32Array;
}

/** Independent reader: F32 tensors of a safetensors file, by name. */
export const independentSafetensors = (path: string): Map<string, RawTensor> => {
  const buf = readFileSync(path);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString("utf8")) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  const out = new Map<string, RawTensor>();
  for (const [name, e] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const [b, end] = e.data_offsets;
    const data = new Float32Array((end - b) / 4);
    for (let i = 0; i < data.length; i++) data[i] = buf.readFloatLE(8 + n + b + 4 * i);
    out.set(name, { dtype: e.dtype, shape: e.shape, data });
  }
  return out;
};

/** Raw element [r, c] of a 2-D (or [r] of a 1-D) file tensor. */
export const raw2 = (t: RawTensor, r: number, c = 0): number =>
  t.data[t.shape.length === 1 ? r : r * t.shape[1]! + c]!;

// ---- GGUF writer: ./test-gguf.ts ----

export { type GgufKv, type GgufTensorSpec, makeGguf } from "./test-gguf.ts";

export const f32Bytes = (data: ArrayLike<number>): Uint8Array => {
  const out = new Uint8Array(data.length * 4);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) dv.setFloat32(4 * i, data[i]!, true);
  return out;
};

/** Deterministic pseudo-random floats in [−1, 1). */
export const noise = (n: number, seed: number): Float32Array => {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 2 ** 32) * 2 - 1;
  }
  return out;
};

/**
 * Copy a shared checkpoint folder into a temp folder, optionally changing its tensors (by name)
 * and its config.json; returns the new folder.
 */
export const derivedFolder = (
  source: string,
  edit: {
    tensors?: (t: Map<string, HostTensor>) => Map<string, HostTensor>;
    config?: (c: Record<string, unknown>) => Record<string, unknown>;
  } = {},
): string => {
  const dir = tempDir();
  const config = JSON.parse(readFileSync(join(source, "config.json"), "utf8")) as Record<string, unknown>;
  writeFileSync(join(dir, "config.json"), JSON.stringify(edit.config ? edit.config(config) : config));
  const tensors = new Map(readSafetensors(join(source, "model.safetensors")).tensors);
  writeFileSync(
    join(dir, "model.safetensors"),
    writeSafetensors(edit.tensors ? edit.tensors(tensors) : tensors),
  );
  return dir;
};

/** Rename tensors: f returns the new name, or null to drop the tensor. */
export const renamed =
  (f: (name: string) => string | null) =>
  (t: Map<string, HostTensor>): Map<string, HostTensor> => {
    const out = new Map<string, HostTensor>();
    for (const [k, v] of t) {
      const n = f(k);
      if (n !== null) out.set(n, v);
    }
    return out;
  };

// ---- a small synthetic llama2.c model, and the same as GGUF ----

export const SYNTH = { dim: 8, hidden: 12, layers: 2, heads: 2, kv: 1, vocab: 5, seq: 4 };
const hs = SYNTH.dim / SYNTH.heads;
/** The arrays of a llama2.c file in order, as [name, count]. */
const arrays = (shared: boolean): [string, number][] => {
  const { dim, hidden, layers: L, heads, kv, vocab: V, seq } = SYNTH;
  const a: [string, number][] = [
    ["emb", V * dim],
    ["rms_att", L * dim],
    ["wq", L * heads * hs * dim],
    ["wk", L * kv * hs * dim],
    ["wv", L * kv * hs * dim],
    ["wo", L * dim * heads * hs],
    ["rms_ffn", L * dim],
    ["w1", L * hidden * dim],
    ["w2", L * dim * hidden],
    ["w3", L * hidden * dim],
    ["rms_final", dim],
    ["freq_real", (seq * hs) / 2],
    ["freq_imag", (seq * hs) / 2],
  ];
  if (!shared) a.push(["wcls", V * dim]);
  return a;
};

export const syntheticLlama2c = (
  shared: boolean,
): { bytes: Uint8Array; parts: Map<string, Float32Array> } => {
  const parts = new Map<string, Float32Array>();
  arrays(shared).forEach(([name, n], k) => {
    parts.set(name, noise(n, 17 + k));
  });
  const floats = [...parts.values()].reduce((a, p) => a + p.length, 0);
  const bytes = new Uint8Array(28 + 4 * floats);
  const dv = new DataView(bytes.buffer);
  [
    SYNTH.dim,
    SYNTH.hidden,
    SYNTH.layers,
    SYNTH.heads,
    SYNTH.kv,
    shared ? SYNTH.vocab : -SYNTH.vocab,
    SYNTH.seq,
  ].forEach((v, i) => {
    dv.setInt32(4 * i, v, true);
  });
  let off = 28;
  for (const p of parts.values()) {
    bytes.set(f32Bytes(p), off);
    off += 4 * p.length;
  }
  return { bytes, parts };
};

/** The synthetic llama2.c model as GGUF (F16 embedding, no output.weight → tied). */
export const syntheticGguf = (parts: Map<string, Float32Array>, kvs: GgufKv[] = []): Uint8Array => {
  const { dim, hidden, layers, heads, kv } = SYNTH;
  const slice = (name: string, l: number, n: number) => parts.get(name)!.subarray(l * n, (l + 1) * n);
  const f32 = (name: string, ne: number[], data: Float32Array) => ({
    name,
    ne,
    type: 0,
    bytes: f32Bytes(data),
  });
  // F16 embedding: k/8 for small integers k is exact in half precision
  const emb = Float32Array.from(parts.get("emb")!, (v) => Math.round(v * 64) / 8);
  const half = new Uint8Array(new Uint16Array(Array.from(emb, f16Bits)).buffer);
  const tensors: GgufTensorSpec[] = [{ name: "token_embd.weight", ne: [dim, 5], type: 1, bytes: half }];
  for (let l = 0; l < layers; l++) {
    tensors.push(
      f32(`blk.${l}.attn_norm.weight`, [dim], slice("rms_att", l, dim)),
      f32(`blk.${l}.attn_q.weight`, [dim, heads * hs], slice("wq", l, heads * hs * dim)),
      f32(`blk.${l}.attn_k.weight`, [dim, kv * hs], slice("wk", l, kv * hs * dim)),
      f32(`blk.${l}.attn_v.weight`, [dim, kv * hs], slice("wv", l, kv * hs * dim)),
      f32(`blk.${l}.attn_output.weight`, [heads * hs, dim], slice("wo", l, dim * heads * hs)),
      f32(`blk.${l}.ffn_norm.weight`, [dim], slice("rms_ffn", l, dim)),
      f32(`blk.${l}.ffn_gate.weight`, [dim, hidden], slice("w1", l, hidden * dim)),
      f32(`blk.${l}.ffn_down.weight`, [hidden, dim], slice("w2", l, hidden * dim)),
      f32(`blk.${l}.ffn_up.weight`, [dim, hidden], slice("w3", l, hidden * dim)),
    );
  }
  tensors.push(f32("output_norm.weight", [dim], parts.get("rms_final")!));
  return makeGguf(
    [
      { key: "general.architecture", type: "string", value: "llama" },
      { key: "llama.context_length", type: "u32", value: 4 },
      { key: "llama.embedding_length", type: "u32", value: dim },
      { key: "llama.feed_forward_length", type: "u32", value: hidden },
      { key: "llama.block_count", type: "u32", value: layers },
      { key: "llama.attention.head_count", type: "u32", value: heads },
      { key: "llama.attention.head_count_kv", type: "u32", value: kv },
      { key: "llama.attention.layer_norm_rms_epsilon", type: "f32", value: 1e-5 },
      { key: "tokenizer.ggml.tokens", type: "strings", value: ["a", "b", "c", "d", "e"] },
      ...kvs,
    ],
    tensors,
  );
};

/** float32 → IEEE half bits (round to nearest; test values are exactly representable). */
const f16Bits = (v: number): number => {
  if (v === 0) return Object.is(v, -0) ? 0x8000 : 0;
  const sign = v < 0 ? 0x8000 : 0;
  const a = Math.abs(v);
  const e = Math.floor(Math.log2(a));
  if (e < -14) return sign | Math.round(a / 2 ** -24);
  return sign | ((e + 15) << 10) | Math.round((a / 2 ** e - 1) * 1024);
};

// ---- a small synthetic GPT-2 Hugging Face folder ----

/** Config and [in, out] Conv1D tensors of a random GPT-2 (d 8, 2 heads, vocab 11, 6 positions). */
export const syntheticGpt2 = (
  layers = 1,
): { config: Record<string, unknown>; tensors: Map<string, HostTensor> } => {
  const d = 8;
  const t = new Map<string, HostTensor>();
  let seed = 1;
  const add = (name: string, shape: number[]) =>
    t.set(name, {
      data: noise(
        shape.reduce((a, b) => a * b, 1),
        seed++,
      ),
      shape,
    });
  add("wte.weight", [11, d]);
  add("wpe.weight", [6, d]);
  for (let l = 0; l < layers; l++) {
    for (const ln of ["ln_1", "ln_2"]) {
      add(`h.${l}.${ln}.weight`, [d]);
      add(`h.${l}.${ln}.bias`, [d]);
    }
    add(`h.${l}.attn.c_attn.weight`, [d, 3 * d]);
    add(`h.${l}.attn.c_attn.bias`, [3 * d]);
    add(`h.${l}.attn.c_proj.weight`, [d, d]);
    add(`h.${l}.attn.c_proj.bias`, [d]);
    add(`h.${l}.mlp.c_fc.weight`, [d, 4 * d]);
    add(`h.${l}.mlp.c_fc.bias`, [4 * d]);
    add(`h.${l}.mlp.c_proj.weight`, [4 * d, d]);
    add(`h.${l}.mlp.c_proj.bias`, [d]);
  }
  add("ln_f.weight", [d]);
  add("ln_f.bias", [d]);
  const config = {
    model_type: "gpt2",
    n_embd: d,
    n_head: 2,
    n_layer: layers,
    vocab_size: 11,
    n_positions: 6,
  };
  return { config, tensors: t };
};

/** Write config.json (if given) and model.safetensors (or raw bytes) into a fresh folder. */
export const writeFolder = (config: unknown, weights: Map<string, HostTensor> | Uint8Array): string => {
  const dir = tempDir();
  if (config !== undefined) {
    writeFileSync(join(dir, "config.json"), typeof config === "string" ? config : JSON.stringify(config));
  }
  writeFileSync(
    join(dir, "model.safetensors"),
    weights instanceof Uint8Array ? weights : writeSafetensors(weights),
  );
  return dir;
};

/** Rewrite a safetensors header (JSON) in place, keeping the data bytes. */
export const patchHeader = (
  bytes: Uint8Array,
  f: (h: Record<string, { dtype: string; shape: number[] }>) => void,
) => {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  f(header);
  return rawSafetensors(header, bytes.subarray(8 + n));
};

/**
 * Loading `path` fails with the typed error `tag`, whose message contains every one of `parts`
 * (the file, the tensor or field, what was expected and what was found).
 */
export const expectLoadError = (path: string, tag: string, ...parts: string[]): void => {
  let err: unknown;
  try {
    loadModelSync(path);
  } catch (e) {
    err = e;
  }
  expect(err, "expected the load to fail").toBeDefined();
  expect(isPatchbayError(err), `untyped error: ${String(err)}`).toBe(true);
  const e = err as { _tag: string; message: string };
  expect(e._tag, e.message).toBe(tag);
  for (const p of parts) expect(e.message).toContain(p);
};
