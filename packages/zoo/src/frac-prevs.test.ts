import { describe, expect, it } from "vitest";
import { forward } from "@patchbay/core/runtime";
import { validateWeights } from "@patchbay/core/weights";
import { weightSpecs } from "@patchbay/core/model";
import {
  FRAC_BOS,
  FRAC_HEADS,
  FRAC_X,
  fracBin,
  fracPrevsCircuit,
  fracPrevsModel,
  fracPrevsProgram,
  fracPrevsTask,
} from "./index.ts";
import { cacheRunner, checkGroundTruth, expectReferenceAgrees } from "./testing.ts";

const SESSION = "zoo-frac-prevs";
const withCache = cacheRunner(SESSION);

const model = fracPrevsModel();
const { config, blocks } = model;
const K = 4;

describe("compiled frac_prevs: construction", () => {
  it("its weights are the canonical set for a GPT-2-layout relu model without norms", () => {
    expect(() => validateWeights(config, model.weights, "fracPrevsModel()")).not.toThrow();
    const names = new Set(weightSpecs(config).map((s) => s.name));
    for (const s of weightSpecs(config).filter((x) => x.required))
      expect(model.weights.has(s.name), s.name).toBe(true);
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
      vocabSize: 6,
    });
    expect(config.attnScale).toBeCloseTo(1 / Math.sqrt(config.dHead), 12);
    // the mean head has W_Q = W_K = 0: its pattern is uniform over 0 … p
    const { layer, head } = FRAC_HEADS.mean;
    const n = config.dModel * config.dHead;
    for (const w of ["W_Q", "W_K"])
      expect(
        model.weights
          .get(`blocks.${layer}.attn.${w}`)!
          .data.subarray(head * n, (head + 1) * n)
          .every((x) => x === 0),
      ).toBe(true);
  });

  it("bins are ⌈K·frac⌉; the task is deterministic and its bins differ", () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8].map((c) => fracBin(c, 8, 4))).toEqual([0, 1, 1, 2, 2, 3, 3, 4, 4]);
    expect(fracPrevsProgram([FRAC_BOS, FRAC_X, 2, FRAC_X, 3])).toEqual({
      frac: [null, 1, 0.5, 2 / 3, 0.5],
      bin: [null, 4, 2, 3, 2],
    });
    const a = fracPrevsTask(3, 8);
    expect(fracPrevsTask(3, 8)).toEqual(a);
    for (let e = 0; e < 8; e++) {
      const c = fracPrevsProgram(a.clean[e]!).bin;
      const x = fracPrevsProgram(a.corrupted[e]!).bin;
      expect(a.positions[e]).toEqual([13, 14, 15, 16]);
      a.positions[e]!.forEach((p, j) => {
        expect(a.answers[e]![j]).toBe(c[p]);
        expect(a.wrong[e]![j]).toBe(x[p]);
        expect(c[p]).not.toBe(x[p]);
        expect(c[p]).toBeGreaterThanOrEqual(1);
      });
      // the complement: same BOS and positions, "x" ↔ not "x"
      a.clean[e]!.forEach((t, i) => {
        if (i > 0) expect(t === FRAC_X).toBe(a.corrupted[e]![i] !== FRAC_X);
      });
    }
    expect(() => fracPrevsTask(0, 1, { metricPositions: 20 })).toThrow(/metricPositions/);
  });
});

describe("compiled frac_prevs: behaviour", () => {
  it("computes frac_prevs: bin accuracy ≥ 0.99 against the TypeScript program (ORT), with the mean c/(p+1)", async () => {
    const task = fracPrevsTask(1, 48);
    const seqs = [...task.clean, ...task.corrupted];
    const out = await withCache((cache) => forward(cache, model, seqs, ["blocks.1.resid_mid"]));
    const [, P, V] = out.logits.shape as [number, number, number];
    const d = config.dModel;
    const mid = out.sites.get("blocks.1.resid_mid")!.data;
    let right = 0;
    let total = 0;
    let minMargin = Number.POSITIVE_INFINITY;
    let meanErr = 0;
    for (const [b, seq] of seqs.entries()) {
      const { frac, bin } = fracPrevsProgram(seq, K);
      for (let p = 1; p < P; p++) {
        const y = bin[p]!;
        const row = out.logits.data.subarray((b * P + p) * V, (b * P + p + 1) * V);
        let best = 0;
        for (let t = 1; t < V; t++) if (row[t]! > row[best]!) best = t;
        if (best === y) right++;
        total++;
        minMargin = Math.min(minMargin, row[y]! - Math.max(...[...row].filter((_, t) => t !== y)));
        const u = mid[(b * P + p) * d + blocks.frac!.offset]!;
        meanErr = Math.max(meanErr, Math.abs(u - (frac[p]! * p) / (p + 1)));
      }
    }
    console.log(
      `frac_prevs bin accuracy ${right}/${total}, smallest logit margin ${minMargin.toFixed(4)}, ` +
        `max |mean − c/(p+1)| ${meanErr.toExponential(2)}`,
    );
    expect(right / total).toBeGreaterThanOrEqual(0.99);
    expect(meanErr).toBeLessThan(1e-6);
  });

  it("the float64 reference agrees with ORT", async () => {
    const task = fracPrevsTask(2, 6);
    await expectReferenceAgrees(SESSION, model, fracPrevsModel({ distractors: false }), [
      ...task.clean,
      ...task.corrupted,
    ]);
  });
});

/** The exact ground-truth checks (./testing.ts, as for the induction model) on 8 pairs of seed 11. */
const checkTruth = (ablation: "resample" | "zero") =>
  checkGroundTruth(model, fracPrevsTask(11, 8), fracPrevsCircuit({ ablation }), {
    ablation,
    session: SESSION,
    label: `frac_prevs ${ablation}`,
  });

describe("compiled frac_prevs: the ground-truth circuit (exact edge patching)", () => {
  it("resample ablation (complement corruption)", () => checkTruth("resample"));
  it("zero ablation sees the positional edge resample cannot", () => checkTruth("zero"));

  it("the positional edge is invisible to resample ablation (ground truth per ablation)", () => {
    expect(fracPrevsCircuit().includes("input->m1")).toBe(false);
    expect(fracPrevsCircuit({ ablation: "zero" }).includes("input->m1")).toBe(true);
    const M = `a${FRAC_HEADS.mean.layer}.h${FRAC_HEADS.mean.head}`;
    for (const a of ["resample", "zero"] as const)
      for (const e of [`input->${M}<q>`, `input->${M}<k>`])
        expect(fracPrevsCircuit({ ablation: a })).not.toContain(e);
  });
});
