import { readFileSync } from "node:fs";
import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import type { Model } from "../model/index.ts";
import { referenceForward } from "../reference/index.ts";
import { testdataPath } from "../testing/testdata.ts";
import { loadModelSync } from "../weights/index.ts";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { gemma1Folder, gemma2Gguf } from "../weights/test-gemma.ts";
import { derivedFolder, tempDir } from "../weights/test-support.ts";
import { forward, makeSessionCache } from "./index.ts";

/**
 * Gemma (1) and Mistral have no PyTorch fixture of their own: these checkpoints are DERIVED (Gemma 1
 * from tiny-gemma2's weights, Mistral from tiny-llama's), so their oracle is the naive float64
 * reference, which implements every convention independently of the builder; Mistral with a
 * window no shorter than the prompt must also give tiny-llama's PyTorch logits.
 */
interface Expected {
  readonly input_ids: number[][];
  readonly logits: number[][][];
}
const llamaDir = testdataPath("fixtures", "tiny-llama");
const expected = JSON.parse(readFileSync(`${llamaDir}/expected.json`, "utf8")) as Expected;
const ids = expected.input_ids; // [2][11]

const onnx = (m: Model, seqs: number[][]) =>
  Effect.runPromise(
    Effect.scoped(Effect.flatMap(makeSessionCache(m.config.name), (cache) => forward(cache, m, seqs))),
  ).then((r) => r.logits.data);

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  expect(a.length).toBe(b.length);
  let w = 0;
  for (let i = 0; i < a.length; i++) w = Math.max(w, Math.abs(a[i]! - b[i]!));
  return w;
};

const mistral = (window: number) =>
  loadModelSync(
    derivedFolder(llamaDir, { config: (c) => ({ ...c, model_type: "mistral", sliding_window: window }) }),
  );

describe("Gemma (1), derived from tiny-gemma2 (no PyTorch oracle: the naive reference)", () => {
  it("ONNX = the float64 reference to 1e-4", async () => {
    const m = loadModelSync(gemma1Folder());
    const seqs = ids.map((s) => s.map((t) => t % m.config.vocabSize));
    const got = await onnx(m, seqs);
    expect(maxDiff(got, referenceForward(m.config, m.weights, seqs).logits.data)).toBeLessThan(1e-4);
  });
});

describe("GGUF gemma2, written from tiny-gemma2's weights as llama.cpp's converter does", () => {
  it("tiny-gemma2's PyTorch logits to 1e-4, as the safetensors load", async () => {
    const path = join(tempDir(), "tiny-gemma2.gguf");
    writeFileSync(path, gemma2Gguf());
    const g2 = JSON.parse(
      readFileSync(testdataPath("fixtures", "tiny-gemma2", "expected.json"), "utf8"),
    ) as Expected;
    const got = await onnx(loadModelSync(path), g2.input_ids);
    const want = g2.logits.flat(2);
    expect(maxDiff(got, want)).toBeLessThan(1e-4);
    const fromSafetensors = await onnx(loadModelSync(testdataPath("fixtures", "tiny-gemma2")), g2.input_ids);
    expect(maxDiff(got, fromSafetensors)).toBeLessThan(1e-5);
  });
});

describe("Mistral, derived from tiny-llama", () => {
  it("a window of 3 on every layer: ONNX = the float64 reference to 1e-4, and not LLaMA's logits", async () => {
    const m = mistral(3);
    const got = await onnx(m, ids);
    expect(maxDiff(got, referenceForward(m.config, m.weights, ids).logits.data)).toBeLessThan(1e-4);
    expect(maxDiff(got, expected.logits.flat(2))).toBeGreaterThan(1e-2); // the window bites
  });

  it("a window no shorter than the prompt is plain LLaMA: tiny-llama's PyTorch logits to 1e-4", async () => {
    for (const window of [11, 64]) {
      const got = await onnx(mistral(window), ids);
      expect(maxDiff(got, expected.logits.flat(2)), `window ${window}`).toBeLessThan(1e-4);
    }
    // 10 < 11 tokens: the last position loses its first key
    expect(maxDiff(await onnx(mistral(10), ids), expected.logits.flat(2))).toBeGreaterThan(1e-4);
  });

  it("padded batches: each sequence gets the logits it gets alone", async () => {
    const m = mistral(3);
    const short = ids[1]!.slice(0, 6);
    const batch = await onnx(m, [ids[0]!, short]);
    const alone = await onnx(m, [short]);
    const V = m.config.vocabSize;
    expect(maxDiff(batch.subarray(11 * V, 11 * V + 6 * V), alone)).toBeLessThan(1e-5);
  });
});
