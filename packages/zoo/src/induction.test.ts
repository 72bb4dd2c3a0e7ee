import { describe, expect, it } from "vitest";
import { forward } from "@patchbay/core/runtime";
import { validateWeights } from "@patchbay/core/weights";
import { weightSpecs } from "@patchbay/core/model";
import {
  INDUCTION_HEADS,
  type InductionCorruption,
  inductionCircuit,
  inductionModel,
  inductionSubspaces,
  inductionTask,
} from "./index.ts";
import { cacheRunner, checkGroundTruth, expectReferenceAgrees } from "./testing.ts";

const SESSION = "zoo-induction";
const withCache = cacheRunner(SESSION);

const model = inductionModel();
const { config } = model;

describe("compiled induction model: construction", () => {
  it("its weights are the canonical set for its config", () => {
    expect(() => validateWeights(config, model.weights, "inductionModel()")).not.toThrow();
    expect([...model.weights.keys()].sort()).toEqual(
      weightSpecs(config)
        .filter((s) => s.required)
        .map((s) => s.name)
        .sort(),
    );
    expect(config).toMatchObject({ family: "zoo", norm: "none", dMlp: null, nLayers: 2, nHeads: 4 });
    expect(config.nCtx).toBeGreaterThanOrEqual(32);
  });

  it("unused heads are exactly zero; the distractors write only JUNK", () => {
    const { dHead: dh, dModel: d } = config;
    const sub = inductionSubspaces(config.vocabSize, config.nCtx);
    const used = new Set([
      `${INDUCTION_HEADS.previousToken.layer}.${INDUCTION_HEADS.previousToken.head}`,
      `${INDUCTION_HEADS.induction.layer}.${INDUCTION_HEADS.induction.head}`,
      ...INDUCTION_HEADS.distractors.map((x) => `${x.layer}.${x.head}`),
    ]);
    for (let l = 0; l < 2; l++)
      for (let h = 0; h < 4; h++) {
        const slice = (name: string, n: number) =>
          model.weights.get(`blocks.${l}.attn.${name}`)!.data.subarray(h * n, (h + 1) * n);
        if (!used.has(`${l}.${h}`))
          for (const name of ["W_Q", "W_K", "W_V", "W_O"])
            expect(slice(name, d * dh).every((x) => x === 0)).toBe(true);
      }
    for (const { layer, head } of INDUCTION_HEADS.distractors) {
      const WO = model.weights.get(`blocks.${layer}.attn.W_O`)!.data;
      for (let r = 0; r < dh; r++)
        for (let col = 0; col < d; col++) {
          const x = WO[(head * dh + r) * d + col]!;
          if (col < sub.junk) expect(x).toBe(0);
        }
    }
    const WU = model.weights.get("unembed.W_U")!.data;
    for (let row = 0; row < d; row++)
      if (row < sub.out || row >= sub.junk)
        for (let t = 0; t < config.vocabSize; t++) expect(WU[row * config.vocabSize + t]).toBe(0);
  });

  it("the task is deterministic given the seed, and its blocks are disjoint and distinct", () => {
    const a = inductionTask(3, 4, { corrupt: "first" });
    expect(inductionTask(3, 4, { corrupt: "first" })).toEqual(a);
    expect(inductionTask(4, 4, { corrupt: "first" }).clean).not.toEqual(a.clean);
    for (let e = 0; e < 4; e++) {
      const A = a.clean[e]!.slice(1, 13);
      const B = a.corrupted[e]!.slice(1, 13);
      expect(a.clean[e]).toEqual([0, ...A, ...A]);
      expect(a.corrupted[e]).toEqual([0, ...B, ...A]);
      expect(new Set([...A, ...B]).size).toBe(24);
      expect(a.positions[e]).toEqual(Array.from({ length: 11 }, (_, i) => 13 + i));
      expect(a.answers[e]).toEqual(A.slice(1));
      expect(a.wrong[e]).toEqual(B.slice(1));
    }
    expect(() => inductionTask(0, 1, { blockLen: 16 })).toThrow(/blockLen/);
  });
});

describe("compiled induction model: behaviour", () => {
  it("predicts the repeated block: top-1 accuracy ≥ 0.99 on the second block (ORT)", async () => {
    const task = inductionTask(1, 32);
    const out = await withCache((cache) => forward(cache, model, task.clean, ["blocks.0.attn.pattern"]));
    const [, P, V] = out.logits.shape as [number, number, number];
    let right = 0;
    let total = 0;
    let minMargin = Number.POSITIVE_INFINITY;
    for (const [b, ps] of task.positions.entries())
      for (const [j, p] of ps.entries()) {
        const row = out.logits.data.subarray((b * P + p) * V, (b * P + p + 1) * V);
        const answer = task.answers[b]![j]!;
        let best = 0;
        for (let t = 1; t < V; t++) if (row[t]! > row[best]!) best = t;
        if (best === answer) right++;
        total++;
        const others = [...row].filter((_, t) => t !== answer);
        minMargin = Math.min(minMargin, row[answer]! - Math.max(...others));
      }
    console.log(`induction accuracy ${right}/${total}, smallest logit margin ${minMargin.toFixed(4)}`);
    expect(right / total).toBeGreaterThanOrEqual(0.99);
    // the previous-token head is (nearly) hard: weight on p − 1 at every p ≥ 1
    const pat = out.sites.get("blocks.0.attn.pattern")!; // [b, H, p, k]
    const h = INDUCTION_HEADS.previousToken.head;
    const H = config.nHeads;
    let worst = 1;
    for (let b = 0; b < task.clean.length; b++)
      for (let p = 1; p < P; p++) worst = Math.min(worst, pat.data[((b * H + h) * P + p) * P + p - 1]!);
    expect(worst).toBeGreaterThan(1 - 1e-6);
  });

  it("the float64 reference agrees with ORT", async () => {
    const task = inductionTask(2, 6, { corrupt: "first" });
    // and with random distractors off, the logits are the same (the distractors are irrelevant)
    await expectReferenceAgrees(SESSION, model, inductionModel({ distractors: false }), [
      ...task.clean,
      ...task.corrupted,
    ]);
  });
});

/** The exact ground-truth checks (./testing.ts) on 8 pairs of seed 11. */
const checkTruth = (ablation: "resample" | "zero", corrupt: InductionCorruption) =>
  checkGroundTruth(model, inductionTask(11, 8, { corrupt }), inductionCircuit({ ablation, corrupt }), {
    ablation,
    session: SESSION,
    label: `${ablation}/${corrupt}`,
  });

describe("compiled induction model: the ground-truth circuit (exact edge patching)", () => {
  for (const corrupt of ["both", "first", "second"] as const)
    it(`resample ablation, corruption "${corrupt}"`, () => checkTruth("resample", corrupt));
  it("zero ablation sees the positional edges resample cannot", () => checkTruth("zero", "both"));

  it("positional edges are exactly invisible to resample ablation (ground truth per ablation)", () => {
    const resample = new Set(inductionCircuit({ corrupt: "both" }));
    const zero = new Set(inductionCircuit({ ablation: "zero" }));
    const p = `a0.h${INDUCTION_HEADS.previousToken.head}`;
    for (const e of [`input->${p}<q>`, `input->${p}<k>`]) {
      expect(resample.has(e)).toBe(false);
      expect(zero.has(e)).toBe(true);
    }
  });
});
