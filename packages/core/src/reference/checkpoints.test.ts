import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hasShared, sharedPath, UNSUPPORTED_FIXTURES } from "../testing/shared.ts";
import { loadModelSync } from "../weights/index.ts";
import { referenceForward } from "./forward.ts";

/**
 * The reference against logits from independent PyTorch forwards of real checkpoints (random-weight
 * Hugging Face fixtures, TransformerLens toys, karpathy's stories260K), to 1e-4 absolute.
 * Every expected.json holds { input_ids: [B][P], logits: [B][P][V] }.
 */
if (!hasShared)
  console.warn(
    "\n!!! reference/checkpoints.test.ts SKIPPED: ../shared (real checkpoints) not found. The reference is NOT checked against PyTorch. !!!\n",
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

const folders = (parent: string, prefix = "") =>
  hasShared && existsSync(sharedPath(parent))
    ? readdirSync(sharedPath(parent))
        .filter((f) => f.startsWith(prefix) && existsSync(sharedPath(parent, f, "expected.json")))
        .map((f) => sharedPath(parent, f))
    : [];

describe.skipIf(!hasShared)("reference = independent PyTorch logits (1e-4)", () => {
  const dirs = [...folders("fixtures"), ...folders("models", "tl-")].filter(
    (d) => !UNSUPPORTED_FIXTURES.has(d.split("/").at(-1)!),
  );

  it("finds the fixtures", () => {
    expect(dirs.length).toBeGreaterThanOrEqual(5);
  });

  for (const dir of dirs)
    it(dir.slice(dir.lastIndexOf("/shared/") + 8), () => {
      const worst = worstAgainst(dir, dir, "expected.json");
      console.log(`${dir}: max abs diff ${worst.toExponential(2)}`);
      expect(worst).toBeLessThan(1e-4);
    });

  for (const file of ["stories260K.bin", "stories260K.gguf"])
    it(`stories260K (${file}): the first 24 greedy tokens`, () => {
      const dir = sharedPath("models", "stories260K");
      const worst = worstAgainst(dir, join(dir, file), "expected_logits.json");
      console.log(`${file}: max abs diff ${worst.toExponential(2)}`);
      expect(worst).toBeLessThan(1e-4);
    });

  it("stories260K: argmax of the logits reproduces the greedy continuation over 96 positions", () => {
    const dir = sharedPath("models", "stories260K");
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
  });
});
