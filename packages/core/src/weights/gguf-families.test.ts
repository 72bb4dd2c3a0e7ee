import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { rotaryFrequencies } from "../model/rotary.ts";
import { testdataPath } from "../testing/testdata.ts";
import { loadModelSync } from "./load.ts";
import { ggufFromHf } from "./test-gguf-hf.ts";
import { expectLoadError, type GgufKv, tempDir } from "./test-support.ts";

/**
 * GGUF metadata of the LLaMA-layout families, on the tiny fixtures written as llama.cpp writes
 * them (test-gguf-hf.ts): "qwen2" (q/k/v biases, NEOX rope on unpermuted rows) and "llama" with
 * Llama 3.1's rope_freqs divisors. Each GGUF load holds the safetensors load's weights (q/k rows
 * permuted for llama) and frequencies; what we do not implement is a typed error. Their logits
 * against PyTorch's: reference/checkpoints.test.ts and runtime/checkpoints.test.ts.
 */
const fixture = (name: string) => testdataPath("fixtures", name);

const writeGguf = (bytes: Uint8Array, name = "m.gguf"): string => {
  const file = join(tempDir(), name);
  writeFileSync(file, bytes);
  return file;
};

describe("GGUF qwen2", () => {
  const file = writeGguf(ggufFromHf(fixture("tiny-qwen2"), "qwen2"), "tiny-qwen2.gguf");

  it("config: the safetensors config but for the name (rotate-half, family qwen2)", () => {
    const g = loadModelSync(file);
    const hf = loadModelSync(fixture("tiny-qwen2"));
    expect(g.config.family).toBe("qwen2");
    expect(g.config.rotary).toEqual({ dim: 8, base: 1e6, style: "half" });
    expect({ ...g.config, name: "", normEps: 0 }).toEqual({ ...hf.config, name: "", normEps: 0 });
    expect(g.config.normEps).toBe(Math.fround(1e-6));
  });

  it("weights bitwise equal the safetensors load's (rows unpermuted, q/k/v biases, tied head)", () => {
    const g = loadModelSync(file).weights;
    const hf = loadModelSync(fixture("tiny-qwen2")).weights;
    expect([...g.keys()].sort()).toEqual([...hf.keys()].sort());
    expect(g.has("blocks.1.attn.b_K")).toBe(true);
    expect(g.has("blocks.1.attn.b_O")).toBe(false);
    for (const [n, t] of hf)
      expect(Buffer.from(g.get(n)!.data.buffer).equals(Buffer.from(t.data.buffer)), n).toBe(true);
  });

  it("a missing q/k/v bias is a TensorShapeError naming it", () => {
    const bytes = ggufFromHf(fixture("tiny-qwen2"), "qwen2", { drop: (n) => n === "blk.1.attn_k.bias" });
    expectLoadError(writeGguf(bytes), "TensorShapeError", "blk.1.attn_k.bias");
  });
});

describe("GGUF llama with Llama 3.1 rope scaling (rope_freqs) and head_dim ≠ d/H", () => {
  const file = writeGguf(ggufFromHf(fixture("tiny-llama3"), "llama"), "tiny-llama3.gguf");

  it("rope_freqs becomes divisors of the frequencies: the same frequencies as the llama3 bands", () => {
    const g = loadModelSync(file).config;
    const hf = loadModelSync(fixture("tiny-llama3")).config;
    expect(g.dHead).toBe(16);
    expect(g.dModel).toBe(32);
    expect(g.rotary?.style).toBe("interleaved");
    expect(g.rotary?.scaling?.kind).toBe("divisors");
    expect(hf.rotary?.scaling).toEqual({
      kind: "llama3",
      factor: 8,
      lowFreqFactor: 1,
      highFreqFactor: 4,
      originalContext: 256,
    });
    const divisors = g.rotary?.scaling?.kind === "divisors" ? g.rotary.scaling.divisors : [];
    // all three bands: kept (1), divided (8), and smoothed between
    expect(divisors[0]).toBe(1);
    expect(divisors[7]).toBe(8);
    expect(divisors.some((v) => v > 1 && v < 8)).toBe(true);
  });

  it("frequencies equal the safetensors load's (float32 divisors); weights equal it, q/k rows in adjacent pairs", () => {
    const g = loadModelSync(file);
    const hf = loadModelSync(fixture("tiny-llama3"));
    const fg = rotaryFrequencies(g.config.rotary!);
    const fh = rotaryFrequencies(hf.config.rotary!);
    for (const [i, f] of fh.entries()) expect(Math.abs(fg[i]! / f - 1), `pair ${i}`).toBeLessThan(1e-6);
    const dh = 16;
    for (const [name, t] of hf.weights) {
      const x = g.weights.get(name)!;
      expect(x.shape, name).toEqual(t.shape);
      if (!/attn\.W_[QK]$/.test(name)) {
        expect(Buffer.from(x.data.buffer).equals(Buffer.from(t.data.buffer)), name).toBe(true);
        continue;
      }
      // [n, d, dh]: GGUF column 2j + s is Hugging Face column s·dh/2 + j of the same head
      for (let r = 0; r < t.data.length / dh; r++)
        for (let j = 0; j < dh / 2; j++)
          for (let s = 0; s < 2; s++)
            expect(x.data[r * dh + 2 * j + s]).toBe(t.data[r * dh + s * (dh / 2) + j]);
    }
  });

  it("without rope_freqs the file is a plain LLaMA (no scaling)", () => {
    const plain = writeGguf(ggufFromHf(fixture("tiny-llama3"), "llama", { ropeFreqs: false }));
    expect(loadModelSync(plain).config.rotary?.scaling).toBeUndefined();
  });

  it("scalings we do not implement, and bad rope_freqs, are typed errors naming the key or tensor", () => {
    const withKv = (kvs: GgufKv[]) => writeGguf(ggufFromHf(fixture("tiny-llama3"), "llama", { kvs }));
    expectLoadError(
      withKv([{ key: "llama.rope.scaling.type", type: "string", value: "yarn" }]),
      "UnsupportedError",
      "llama.rope.scaling.type",
      '"yarn"',
    );
    expectLoadError(
      withKv([{ key: "llama.rope.scaling.factor", type: "f32", value: 4 }]),
      "UnsupportedError",
      "llama.rope.scaling.factor",
      "4",
    );
    // linear with factor 1 changes nothing; original_context_length is informational
    const fine = withKv([
      { key: "llama.rope.scaling.type", type: "string", value: "linear" },
      { key: "llama.rope.scaling.factor", type: "f32", value: 1 },
      { key: "llama.rope.scaling.original_context_length", type: "u32", value: 256 },
    ]);
    expect(loadModelSync(fine).config.rotary?.scaling?.kind).toBe("divisors");
    // rope_freqs of the wrong length
    const qwenShaped = ggufFromHf(fixture("tiny-llama3"), "llama", {
      kvs: [{ key: "llama.rope.dimension_count", type: "u32", value: 8 }],
    });
    expectLoadError(writeGguf(qwenShaped), "TensorShapeError", "rope_freqs.weight");
  });

  it("an architecture we do not map lists the ones we do", () => {
    const bytes = ggufFromHf(fixture("tiny-qwen2"), "qwen2");
    // same length, so the header stays valid: "qwen2" → "qwen9"
    const at = Buffer.from(bytes).indexOf("qwen2");
    bytes[at + 4] = "9".charCodeAt(0);
    expectLoadError(writeGguf(bytes), "UnsupportedError", "GGUF architecture", "llama, qwen2", "qwen9");
  });
});
