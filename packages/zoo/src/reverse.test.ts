import { describe, expect, it } from "vitest";
import { forward } from "@patchbay/core/runtime";
import { validateWeights } from "@patchbay/core/weights";
import { weightSpecs } from "@patchbay/core/model";
import {
  REVERSE_BOS,
  REVERSE_HEADS,
  REVERSE_SEP,
  type ReverseCorruption,
  reverseCircuit,
  reverseModel,
  reverseProgram,
  reverseTask,
} from "./index.ts";
import { cacheRunner, checkGroundTruth, expectReferenceAgrees } from "./testing.ts";

const SESSION = "zoo-reverse";
const withCache = cacheRunner(SESSION);

const model = reverseModel();
const { config, blocks } = model;

describe("compiled reverse: construction", () => {
  it("its weights are the canonical set for a GPT-2-layout relu model without norms", () => {
    expect(() => validateWeights(config, model.weights, "reverseModel()")).not.toThrow();
    const required = weightSpecs(config).filter((s) => s.required);
    const names = new Set(weightSpecs(config).map((s) => s.name));
    for (const s of required) expect(model.weights.has(s.name), s.name).toBe(true);
    for (const k of model.weights.keys()) expect(names.has(k), k).toBe(true);
    expect(config).toMatchObject({
      family: "zoo",
      norm: "none",
      act: "relu",
      gatedMlp: false,
      positional: "learned",
      nLayers: 2,
      nHeads: 2,
      nCtx: 17,
      vocabSize: 18,
    });
    expect(config.attnScale).toBeCloseTo(1 / Math.sqrt(config.dHead), 12);
    // m1 is unused: all zeros
    for (const n of ["W_in", "b_in", "W_out"])
      expect(model.weights.get(`blocks.1.mlp.${n}`)!.data.every((x) => x === 0)).toBe(true);
  });

  it("the task is deterministic, its blocks are disjoint, and its answers are the program's", () => {
    for (const corrupt of ["tokens", "length", "both"] as const) {
      const a = reverseTask(3, 6, { corrupt });
      expect(reverseTask(3, 6, { corrupt })).toEqual(a);
      for (let e = 0; e < 6; e++) {
        const clean = a.clean[e]!;
        const corr = a.corrupted[e]!;
        expect(clean.length).toBe(17);
        expect(corr.length).toBe(17);
        expect(clean[0]).toBe(REVERSE_BOS);
        const prog = reverseProgram(clean);
        const progC = reverseProgram(corr);
        a.positions[e]!.forEach((q, j) => {
          expect(prog[q]).toBe(a.answers[e]![j]);
          expect(progC[q]).toBe(a.wrong[e]![j]);
          expect(a.answers[e]![j]).not.toBe(a.wrong[e]![j]);
        });
        const n = clean.filter((t, i) => i > 0 && t !== REVERSE_SEP).length;
        const nC = corr.filter((t, i) => i > 0 && t !== REVERSE_SEP).length;
        expect(nC).toBe(corrupt === "tokens" ? n : n - 1);
      }
    }
    expect(reverseProgram([0, 5, 6, 7, 1, 1, 1, 1])).toEqual([null, null, null, null, 7, 6, 5, null]);
    expect(() => reverseTask(0, 1, { minLen: 2 })).toThrow(/minLen/);
  });
});

describe("compiled reverse: behaviour", () => {
  it("computes reverse: top-1 accuracy ≥ 0.99 against the TypeScript program (ORT), with the intermediate variables", async () => {
    const task = reverseTask(1, 48, { corrupt: "tokens", minLen: 1 });
    const out = await withCache((cache) =>
      forward(cache, model, task.clean, ["blocks.0.resid_mid", "blocks.0.resid_post"]),
    );
    const [, P, V] = out.logits.shape as [number, number, number];
    const d = config.dModel;
    const mid = out.sites.get("blocks.0.resid_mid")!.data;
    const post = out.sites.get("blocks.0.resid_post")!.data;
    let right = 0;
    let total = 0;
    let minMargin = Number.POSITIVE_INFINITY;
    let lenErr = 0;
    let oppErr = 0;
    for (const [b, seq] of task.clean.entries()) {
      const prog = reverseProgram(seq);
      const n = seq.filter((t, i) => i > 0 && t !== REVERSE_SEP).length;
      for (let q = 0; q < P; q++) {
        const y = prog[q];
        if (y === null || y === undefined) continue;
        const row = out.logits.data.subarray((b * P + q) * V, (b * P + q + 1) * V);
        let best = 0;
        for (let t = 1; t < V; t++) if (row[t]! > row[best]!) best = t;
        if (best === y) right++;
        total++;
        minMargin = Math.min(minMargin, row[y]! - Math.max(...[...row].filter((_, t) => t !== y)));
        // length = 1/(n + 1) on LEN; opp = 2n + 1 − q one-hot on OPP
        lenErr = Math.max(lenErr, Math.abs(mid[(b * P + q) * d + blocks.len!.offset]! - 1 / (n + 1)));
        for (let i = 0; i < blocks.opp!.size; i++)
          oppErr = Math.max(
            oppErr,
            Math.abs(post[(b * P + q) * d + blocks.opp!.offset + i]! - (i === 2 * n + 1 - q ? 1 : 0)),
          );
      }
    }
    console.log(
      `reverse accuracy ${right}/${total}, smallest logit margin ${minMargin.toFixed(4)}, ` +
        `max |length − 1/(n+1)| ${lenErr.toExponential(2)}, max |opp − one-hot| ${oppErr.toExponential(2)}`,
    );
    expect(right / total).toBeGreaterThanOrEqual(0.99);
    expect(lenErr).toBeLessThan(1e-5);
    expect(oppErr).toBeLessThan(1e-3);
  });

  it("the float64 reference agrees with ORT", async () => {
    const task = reverseTask(2, 6, { corrupt: "both" });
    await expectReferenceAgrees(SESSION, model, reverseModel({ distractors: false }), [
      ...task.clean,
      ...task.corrupted,
    ]);
  });
});

/** The exact ground-truth checks (./testing.ts, as for the induction model) on 8 pairs of seed 11. */
const checkTruth = (ablation: "resample" | "zero", corrupt: ReverseCorruption) =>
  checkGroundTruth(model, reverseTask(11, 8, { corrupt }), reverseCircuit({ ablation, corrupt }), {
    ablation,
    session: SESSION,
    label: `reverse ${ablation}/${corrupt}`,
  });

describe("compiled reverse: the ground-truth circuit (exact edge patching)", () => {
  for (const corrupt of ["tokens", "length", "both"] as const)
    it(`resample ablation, corruption "${corrupt}"`, () => checkTruth("resample", corrupt));
  it("zero ablation sees the constant, BOS and positional edges resample cannot", () =>
    checkTruth("zero", "both"));

  it("what is identical in clean and corrupted is invisible to resample (ground truth per ablation)", () => {
    const L = `a${REVERSE_HEADS.length.layer}.h${REVERSE_HEADS.length.head}`;
    const R = `a${REVERSE_HEADS.reverse.layer}.h${REVERSE_HEADS.reverse.head}`;
    const zero = new Set(reverseCircuit({ ablation: "zero" }));
    for (const corrupt of ["tokens", "length", "both"] as const) {
      const resample = new Set(reverseCircuit({ corrupt }));
      for (const e of [`input->${L}<q>`, `input->${L}<v>`, "input->m0", `input->${R}<k>`]) {
        expect(resample.has(e)).toBe(false);
        expect(zero.has(e)).toBe(true);
      }
      for (const e of resample) expect(zero.has(e)).toBe(true);
    }
  });
});
