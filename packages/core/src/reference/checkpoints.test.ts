import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hasSharedModels, sharedModelPath, warnIfNoSharedModels } from "../testing/shared.ts";
import { testdataPath, UNSUPPORTED_FIXTURES } from "../testing/testdata.ts";
import { loadModelSync } from "../weights/index.ts";
import { ggufFromHf } from "../weights/test-gguf-hf.ts";
import { referenceForward } from "./forward.ts";

/**
 * The reference against logits from independent PyTorch forwards of real checkpoints (random-weight
 * Hugging Face fixtures, TransformerLens toys, karpathy's stories260K), to 1e-4 absolute.
 * Every expected.json holds { input_ids: [B][P], logits: [B][P][V] }.
 */
warnIfNoSharedModels(
  "reference/checkpoints.test.ts: the reference against PyTorch on tl-induction-2L, tl-sorted-list and stories260K (the tiny fixtures still run)",
);

interface Expected {
  readonly input_ids: number[][];
  readonly logits: number[][][];
}

const worstAgainst = (dir: string, modelPath: string, expectedFile: string) => {
  const { config, weights } = loadModelSync(modelPath);
  const expected = JSON.parse(readFileSync(join(dir, expectedFile), "utf8")) as Expected;
  const out = referenceForward(config, weights, expected.input_ids);
  const flat = expected.logits.flat(2);
  expect(out.logits.shape).toEqual([
    expected.input_ids.length,
    expected.input_ids[0]!.length,
    expected.logits[0]![0]!.length,
  ]);
  let worst = 0;
  for (let i = 0; i < flat.length; i++) worst = Math.max(worst, Math.abs(out.logits.data[i]! - flat[i]!));
  return worst;
};

/** Folders under `root` whose name starts with `prefix` and that hold an expected.json, named `<label>/<folder>`. */
const folders = (root: string, label: string, prefix = ""): [string, string][] =>
  existsSync(root)
    ? readdirSync(root)
        .filter((f) => f.startsWith(prefix) && existsSync(join(root, f, "expected.json")))
        .map((f) => [`${label}/${f}`, join(root, f)])
    : [];

describe("reference = independent PyTorch logits (1e-4)", () => {
  const fixtures = folders(testdataPath("fixtures"), "fixtures").filter(
    ([name]) => !UNSUPPORTED_FIXTURES.has(name.split("/").at(-1)!),
  );
  const models = hasSharedModels ? folders(sharedModelPath(), "models", "tl-") : [];

  it("finds the fixtures (and, with ../shared/models, the TransformerLens models)", () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(3);
    if (hasSharedModels) expect(models.length).toBeGreaterThanOrEqual(2);
  });

  for (const [name, dir] of [...fixtures, ...models])
    it(name, () => {
      const worst = worstAgainst(dir, dir, "expected.json");
      console.log(`${name}: max abs diff ${worst.toExponential(2)}`);
      expect(worst).toBeLessThan(1e-4);
    });

  for (const file of ["stories260K.bin", "stories260K.gguf"])
    it.skipIf(!hasSharedModels)(`stories260K (${file}): the first 24 greedy tokens`, () => {
      const dir = sharedModelPath("stories260K");
      const worst = worstAgainst(dir, join(dir, file), "expected_logits.json");
      console.log(`${file}: max abs diff ${worst.toExponential(2)}`);
      expect(worst).toBeLessThan(1e-4);
    });

  it.skipIf(!hasSharedModels)(
    "stories260K: argmax of the logits reproduces the greedy continuation over 96 positions",
    () => {
      const dir = sharedModelPath("stories260K");
      const greedy = readFileSync(join(dir, "greedy_ids.txt"), "utf8").trim().split(/\s+/).map(Number);
      const ids = greedy.slice(0, 96);
      const { config, weights } = loadModelSync(join(dir, "stories260K.bin"));
      const { logits } = referenceForward(config, weights, [ids]);
      const V = config.vocabSize;
      for (let p = 0; p + 1 < ids.length; p++) {
        let best = 0;
        for (let v = 1; v < V; v++) if (logits.data[p * V + v]! > logits.data[p * V + best]!) best = v;
        expect(best, `position ${p}`).toBe(ids[p + 1]);
      }
    },
  );
});

describe("GGUF files written from the fixtures as llama.cpp writes them (1e-4)", () => {
  const gguf = (name: string, arch: "llama" | "qwen2", opts: { ropeFreqs?: boolean } = {}) => {
    const file = join(mkdtempSync(join(tmpdir(), "patchbay-gguf-")), `${name}.gguf`);
    writeFileSync(file, ggufFromHf(testdataPath("fixtures", name), arch, opts));
    return file;
  };
  for (const [name, arch] of [
    ["tiny-qwen2", "qwen2"],
    ["tiny-llama3", "llama"],
  ] as const)
    it(`${name} as GGUF ${arch}`, () => {
      const worst = worstAgainst(testdataPath("fixtures", name), gguf(name, arch), "expected.json");
      console.log(`${name}.gguf: max abs diff ${worst.toExponential(2)}`);
      expect(worst).toBeLessThan(1e-4);
    });

  it("tiny-llama3 without rope_freqs.weight misses PyTorch's logits (the divisors matter)", () => {
    const dir = testdataPath("fixtures", "tiny-llama3");
    const worst = worstAgainst(dir, gguf("tiny-llama3", "llama", { ropeFreqs: false }), "expected.json");
    expect(worst).toBeGreaterThan(1e-3);
  });
});
