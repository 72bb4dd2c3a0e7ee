import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadModelSync } from "./load.ts";
import {
  expectLoadError,
  f32Bytes,
  makeGguf,
  SYNTH,
  syntheticGguf,
  syntheticLlama2c,
  tempDir,
} from "./test-support.ts";

/**
 * Bad input in the single-file formats (llama2.c .bin, GGUF): each load must fail with the right
 * typed error whose message names the file and the tensor or field, and says what was expected
 * and what was found. Folders and paths are in errors.test.ts.
 */

describe("llama2.c: bad input", () => {
  const write = (bytes: Uint8Array) => {
    const p = join(tempDir(), "m.bin");
    writeFileSync(p, bytes);
    return p;
  };

  it("truncated → WeightFileError with the expected byte count vs found", () => {
    const { bytes } = syntheticLlama2c(true);
    const p = write(bytes.subarray(0, bytes.length - 4));
    expectLoadError(
      p,
      "WeightFileError",
      p,
      `expected ${bytes.length} bytes`,
      `found ${bytes.length - 4} bytes`,
    );
  });

  it("trailing bytes (e.g. a negative vocab written as positive) → WeightFileError", () => {
    const { bytes } = syntheticLlama2c(false);
    new DataView(bytes.buffer).setInt32(20, SYNTH.vocab, true);
    const p = write(bytes);
    expectLoadError(p, "WeightFileError", p, "shared classifier", `found ${bytes.length} bytes`);
  });

  it("shorter than the header, or bad header fields → typed errors naming the field", () => {
    expectLoadError(write(new Uint8Array(10)), "WeightFileError", "at least 28 bytes", "found 10 bytes");
    const bad = (field: number, v: number) => {
      const { bytes } = syntheticLlama2c(true);
      new DataView(bytes.buffer).setInt32(4 * field, v, true);
      return write(bytes);
    };
    expectLoadError(bad(3, 3), "ConfigError", "header.n_heads", "divisor of dim = 8", "found 3");
    expectLoadError(bad(0, -8), "ConfigError", "header.dim", "positive");
    expectLoadError(bad(4, 3), "ConfigError", "header.n_kv_heads", "divisor of n_heads = 2");
    expectLoadError(bad(2, 2 ** 30), "WeightFileError", "bytes");
  });

  it("a versioned (ak42) export → UnsupportedError", () => {
    const { bytes } = syntheticLlama2c(true);
    new DataView(bytes.buffer).setUint32(0, 0x616b3432, true);
    expectLoadError(write(bytes), "UnsupportedError", "ak42");
  });
});

describe("GGUF: bad input", () => {
  const { parts } = syntheticLlama2c(true);
  const good = syntheticGguf(parts);
  const write = (bytes: Uint8Array) => {
    const p = join(tempDir(), "m.gguf");
    writeFileSync(p, bytes);
    return p;
  };

  it("the synthetic file loads", () => {
    expect(loadModelSync(write(good)).config.nLayers).toBe(2);
  });

  it("bad magic / version → typed errors", () => {
    const b = good.slice();
    b[0] = 0x47 + 1;
    expectLoadError(write(b), "WeightFileError", 'magic "GGUF"');
    const v = good.slice();
    new DataView(v.buffer).setUint32(4, 1, true);
    expectLoadError(write(v), "UnsupportedError", "GGUF version", "found 1");
  });

  it("truncated inside the metadata, and inside tensor data → WeightFileError naming file (and tensor)", () => {
    const p = write(good.subarray(0, 100));
    expectLoadError(p, "WeightFileError", p, "bytes left");
    const q = write(good.subarray(0, good.length - 8));
    expectLoadError(q, "WeightFileError", q, "tensor output_norm.weight", "inside the file");
  });

  it("absurd counts fail fast (no allocation, no loop)", () => {
    const b = good.slice();
    new DataView(b.buffer).setBigUint64(16, 2n ** 50n, true); // metadata count
    expectLoadError(write(b), "WeightFileError", "room for");
  });

  it("an unsupported architecture, a quantised tensor, a missing hyperparameter", () => {
    expectLoadError(
      write(syntheticGguf(parts, [{ key: "general.architecture", type: "string", value: "mamba" }])),
      "WeightFileError",
      "unique metadata keys",
    );
    const mamba = makeGguf([{ key: "general.architecture", type: "string", value: "mamba" }], []);
    expectLoadError(write(mamba), "UnsupportedError", "GGUF architecture", "found mamba");
    const q4 = makeGguf(
      [
        { key: "general.architecture", type: "string", value: "llama" },
        { key: "llama.embedding_length", type: "u32", value: 8 },
        { key: "llama.attention.head_count", type: "u32", value: 2 },
        { key: "llama.block_count", type: "u32", value: 1 },
        { key: "llama.feed_forward_length", type: "u32", value: 4 },
        { key: "llama.context_length", type: "u32", value: 4 },
      ],
      [{ name: "token_embd.weight", ne: [8, 5], type: 16, bytes: new Uint8Array(40) }], // IQ2_XXS
    );
    expectLoadError(write(q4), "UnsupportedError", "tensor token_embd.weight", "found IQ2_XXS");
    const noBlocks = makeGguf(
      [
        { key: "general.architecture", type: "string", value: "llama" },
        { key: "llama.embedding_length", type: "u32", value: 8 },
        { key: "llama.attention.head_count", type: "u32", value: 2 },
      ],
      [{ name: "token_embd.weight", ne: [8, 5], type: 0, bytes: f32Bytes(new Float32Array(40)) }],
    );
    const p = write(noBlocks);
    expectLoadError(p, "ConfigError", p, "field llama.block_count", "absent");
  });
});
