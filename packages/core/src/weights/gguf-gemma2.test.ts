import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { testdataPath } from "../testing/testdata.ts";
import { loadModelSync } from "./load.ts";
import { gemma2Gguf } from "./test-gemma.ts";
import { expectLoadError, tempDir } from "./test-support.ts";

/**
 * GGUF architecture "gemma2", written from tiny-gemma2's weights as llama.cpp's converter writes
 * them (norms stored as 1 + w, the embedding unscaled, llama.cpp's tensor names and keys): the
 * same canonical weights as the safetensors load, bit for bit, and the same config but for ε
 * (float32 in GGUF); runtime/hf-families.test.ts runs it against the PyTorch oracle.
 */
const write = (bytes: Uint8Array): string => {
  const path = join(tempDir(), "tiny-gemma2.gguf");
  writeFileSync(path, bytes);
  return path;
};

describe("GGUF gemma2 (from tiny-gemma2's weights)", () => {
  const hf = loadModelSync(testdataPath("fixtures", "tiny-gemma2"));

  it("equals the safetensors load: config (ε as float32) and every canonical weight", () => {
    const g = loadModelSync(write(gemma2Gguf()));
    // GGUF stores layer_norm_rms_epsilon as f32
    expect(g.config).toEqual({ ...hf.config, name: "tiny-gemma2", normEps: Math.fround(hf.config.normEps) });
    expect([...g.weights.keys()].sort()).toEqual([...hf.weights.keys()].sort());
    for (const [k, v] of hf.weights) {
      expect(g.weights.get(k)!.shape, k).toEqual(v.shape);
      expect(g.weights.get(k)!.data, k).toEqual(v.data);
    }
  });

  it("absent softcap keys take Gemma 2's defaults 50 / 30", () => {
    const keys = ["gemma2.attn_logit_softcapping", "gemma2.final_logit_softcapping"];
    const c = loadModelSync(write(gemma2Gguf({ dropKeys: keys }))).config;
    expect([c.attnSoftcap, c.finalSoftcap]).toEqual([50, 30]);
  });

  it("no query_pre_attn_scalar in GGUF: 1/√key_length, but 1/√(d/H) for the 27B (46 layers), as llama.cpp", () => {
    expect(loadModelSync(write(gemma2Gguf())).config.attnScale).toBe(1 / Math.sqrt(12));
    const c = loadModelSync(write(gemma2Gguf({ layers: 46 }))).config;
    expect(c.nLayers).toBe(46);
    expect(c.attnScale).toBe(1 / Math.sqrt(32 / 4));
  });

  it("a missing post-norm tensor, rope scaling or another architecture are typed errors", () => {
    const missing = write(gemma2Gguf({ drop: (n) => n === "blk.1.post_ffw_norm.weight" }));
    expectLoadError(missing, "TensorShapeError", "blk.1.post_ffw_norm.weight");
    const scaled = write(
      gemma2Gguf({ kvs: [{ key: "gemma2.rope.scaling.type", type: "string", value: "linear" }] }),
    );
    expectLoadError(scaled, "UnsupportedError", "gemma2.rope.scaling.type", "linear");
    const other = write(
      gemma2Gguf({ kvs: [{ key: "general.architecture", type: "string", value: "gemma3" }] }),
    );
    expectLoadError(other, "UnsupportedError", "GGUF architecture", "gemma3");
  });
});
