import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { testdataPath } from "../testing/testdata.ts";
import { readGgufHeader } from "./gguf.ts";
import { loadModelSync } from "./load.ts";
import { describeQuantization, ggufQuantization } from "./quantization.ts";
import type { GgufKv, GgufTensorSpec } from "./test-gguf.ts";
import { f32Bytes, makeGguf, noise, tempDir } from "./test-support.ts";

/**
 * A one-layer llama GGUF stored the way llama.cpp's quantiser stores a "mostly" file: the
 * matrices quantised (several types, as Q4_K_M mixes Q4_K and Q6_K), the norms F32, the embedding
 * F16. d_model 32 (rows of whole 32-weight blocks), d_mlp 256 (ffn_down rows are one super-block).
 * Quantised blocks are zero (d = 0): the point here is the record of types, not the values.
 */
const D = 32;
const HIDDEN = 256;
const VOCAB = 5;
const blocks = (elems: number, blockElems: number, blockBytes: number) =>
  new Uint8Array((elems / blockElems) * blockBytes);

const mixedGguf = (fileType: number | null): string => {
  const f32 = (name: string, n: number): GgufTensorSpec => ({
    name,
    ne: [n],
    type: 0,
    bytes: f32Bytes(noise(n, n)),
  });
  const q = (name: string, ne: [number, number], type: number, blockElems: number, blockBytes: number) => ({
    name,
    ne,
    type,
    bytes: blocks(ne[0] * ne[1], blockElems, blockBytes),
  });
  const tensors: GgufTensorSpec[] = [
    { name: "token_embd.weight", ne: [D, VOCAB], type: 1, bytes: new Uint8Array(2 * D * VOCAB) }, // F16
    f32("blk.0.attn_norm.weight", D),
    q("blk.0.attn_q.weight", [D, D], 8, 32, 34), // Q8_0
    q("blk.0.attn_k.weight", [D, 16], 2, 32, 18), // Q4_0 (1 kv head of 16)
    q("blk.0.attn_v.weight", [D, 16], 6, 32, 22), // Q5_0
    q("blk.0.attn_output.weight", [D, D], 3, 32, 20), // Q4_1
    f32("blk.0.ffn_norm.weight", D),
    q("blk.0.ffn_gate.weight", [D, HIDDEN], 8, 32, 34), // Q8_0
    q("blk.0.ffn_up.weight", [D, HIDDEN], 7, 32, 24), // Q5_1
    q("blk.0.ffn_down.weight", [HIDDEN, D], 14, 256, 210), // Q6_K
    f32("output_norm.weight", D),
  ];
  const kvs: GgufKv[] = [
    { key: "general.architecture", type: "string", value: "llama" },
    { key: "llama.context_length", type: "u32", value: 4 },
    { key: "llama.embedding_length", type: "u32", value: D },
    { key: "llama.feed_forward_length", type: "u32", value: HIDDEN },
    { key: "llama.block_count", type: "u32", value: 1 },
    { key: "llama.attention.head_count", type: "u32", value: 2 },
    { key: "llama.attention.head_count_kv", type: "u32", value: 1 },
    { key: "llama.attention.layer_norm_rms_epsilon", type: "f32", value: 1e-5 },
    { key: "tokenizer.ggml.tokens", type: "strings", value: ["a", "b", "c", "d", "e"] },
    ...(fileType === null ? [] : [{ key: "general.file_type", type: "u32" as const, value: fileType }]),
  ];
  const file = join(tempDir(), `mixed-${fileType}.gguf`);
  writeFileSync(file, makeGguf(kvs, tensors));
  return file;
};

describe("the quantization type of each tensor, in the model info", () => {
  it("a GGUF with mixed types: every tensor's type by its own name, counts most common first, the file type", () => {
    const model = loadModelSync(mixedGguf(7)); // LLAMA_FTYPE_MOSTLY_Q8_0
    const q = model.quantization!;
    expect(q.fileType).toBe("Q8_0");
    expect(q.tensors["blk.0.attn_q.weight"]).toBe("Q8_0");
    expect(q.tensors["blk.0.attn_k.weight"]).toBe("Q4_0");
    expect(q.tensors["blk.0.ffn_down.weight"]).toBe("Q6_K");
    expect(q.tensors["token_embd.weight"]).toBe("F16");
    expect(Object.keys(q.tensors)).toHaveLength(11);
    // 3 F32 norms, 2 Q8_0, then one each (ties by name)
    expect(Object.entries(q.counts)).toEqual([
      ["F32", 3],
      ["Q8_0", 2],
      ["F16", 1],
      ["Q4_0", 1],
      ["Q4_1", 1],
      ["Q5_0", 1],
      ["Q5_1", 1],
      ["Q6_K", 1],
    ]);
    expect(describeQuantization(q)).toBe(
      "Q8_0: 3 F32, 2 Q8_0, 1 F16, 1 Q4_0, 1 Q4_1, 1 Q5_0, 1 Q5_1, 1 Q6_K",
    );
    // the weights themselves are dequantised (zero blocks → zeros) and mapped as usual
    expect([...model.weights.get("blocks.0.attn.W_Q")!.shape]).toEqual([2, D, 16]);
  });

  it("llama.cpp's file type names (Q4_K_M = 15); a file without general.file_type has counts only", () => {
    expect(ggufQuantization(readGgufHeader(mixedGguf(15))).fileType).toBe("Q4_K_M");
    expect(ggufQuantization(readGgufHeader(mixedGguf(99))).fileType).toBe("file type 99");
    const bare = ggufQuantization(readGgufHeader(mixedGguf(null)));
    expect(bare.fileType).toBeUndefined();
    expect(describeQuantization(bare)).toMatch(/^3 F32, 2 Q8_0, /);
  });

  it("formats that are not GGUF carry no quantization record", () => {
    expect(loadModelSync(testdataPath("fixtures", "tiny-gpt2")).quantization).toBeUndefined();
  });
});
