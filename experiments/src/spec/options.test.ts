import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect, Either } from "effect";
import { describe, expect, it } from "vitest";
import { expandCells, loadExperiment } from "./load.ts";

/**
 * Options a cell's method would ignore are refused when the file is loaded (circuits' rules:
 * packages/circuits/src/methods/options.ts), naming the file, the field and what is allowed.
 */
const dir = mkdtempSync(join(tmpdir(), "patchbay-options-"));
let count = 0;
const cellsOf = (text: string) => {
  const p = join(dir, `e${count++}.yaml`);
  writeFileSync(p, text);
  return Effect.runSync(Effect.either(Effect.flatMap(loadExperiment(p), expandCells)));
};
const refused = (text: string) => {
  const r = cellsOf(text);
  if (Either.isRight(r)) throw new Error(`accepted:\n${text}`);
  expect(r.left._tag).toBe("ExperimentFileError");
  return r.left.message;
};
const base = "model: builtin:induction\ntask: { n: 8 }\n";

describe("experiment files: options a method ignores are refused at load time", () => {
  it("eap-ig-inputs with zero, mean or mean-positional ablation", () => {
    for (const ablation of ["zero", "mean", "mean-positional"]) {
      const msg = refused(`${base}method: { _tag: eap-ig-inputs }\nablation: ${ablation}\n`);
      expect(msg).toContain("ablation");
      expect(msg).toContain("eap-ig-inputs");
      expect(msg).toContain("eap-ig-activations");
      expect(msg).toContain(`"${ablation}"`);
    }
    expect(Either.isRight(cellsOf(`${base}method: { _tag: eap-ig-activations }\nablation: zero\n`))).toBe(
      true,
    );
  });

  it("a selection with acdc; null drops it, so a sweep over methods can", () => {
    const msg = refused(`${base}method: { _tag: acdc, tau: 0.5 }\nselection: { _tag: top-n, n: 4 }\n`);
    expect(msg).toMatch(/selection.*acdc/);
    const r = cellsOf(
      `${base}method: { _tag: eap }\nselection: { _tag: top-n, n: 4 }\nsweep:\n  zip:\n    method: [{ _tag: eap }, { _tag: acdc, tau: 0.5 }]\n    selection: [{ _tag: top-n, n: 4 }, null]\n`,
    );
    if (Either.isLeft(r)) throw new Error(r.left.message);
    expect(r.right.map((c) => ("selection" in c.spec ? c.spec.selection : undefined))).toEqual([
      { _tag: "top-n", n: 4, absolute: true },
      null,
    ]);
  });

  it("acdc's seed without a random order; spearmanSeed without a sample", () => {
    expect(refused(`${base}method: { _tag: acdc, tau: 0.5, seed: 3 }\n`)).toMatch(/method\.seed.*random/);
    expect(Either.isRight(cellsOf(`${base}method: { _tag: acdc, tau: 0.5, order: random, seed: 3 }\n`))).toBe(
      true,
    );
    expect(
      refused(`${base}method: { _tag: eap }\nevaluation: { spearmanSample: 0, spearmanSeed: 4 }\n`),
    ).toContain("spearmanSeed");
  });

  it("a named ground truth where there is none to compare (layer granularity, a model folder)", () => {
    expect(
      refused(`${base}method: { _tag: eap }\ngranularity: layer\nevaluation: { truth: zero }\n`),
    ).toMatch(/evaluation\.truth.*layer/);
    expect(
      refused(
        `model: some/folder\ntask: { file: t.jsonl }\nmethod: { _tag: eap }\nevaluation: { truth: zero }\n`,
      ),
    ).toContain("evaluation.truth");
  });

  it("granularity head-qkv is accepted", () => {
    const r = cellsOf(`${base}method: { _tag: eap }\ngranularity: head-qkv\n`);
    if (Either.isLeft(r)) throw new Error(r.left.message);
    expect("granularity" in r.right[0]!.spec && r.right[0]!.spec.granularity).toBe("head-qkv");
  });
});
