import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { ablatedSources, type Edge, edgeLayout, fullMask, maskIndex } from "../edges/index.ts";
import { type Plan, runPlan } from "../engine/index.ts";
import { weightSpecs } from "../model/index.ts";
import { referenceForward } from "../reference/index.ts";
import { forward, makeSessionCache, type SessionCache } from "../runtime/index.ts";
import type { HostTensor } from "../tensor/index.ts";
import { worstMismatch } from "../testing/compare.ts";
import { validateWeights } from "../weights/index.ts";
import {
  INDUCTION_HEADS,
  type InductionCorruption,
  inductionCircuit,
  inductionModel,
  inductionSubspaces,
  inductionTask,
} from "./index.ts";

const withCache = <A, E>(f: (cache: SessionCache) => Effect.Effect<A, E>) =>
  Effect.runPromise(Effect.scoped(Effect.flatMap(makeSessionCache("zoo-induction"), f)));

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
    const seqs = [...task.clean, ...task.corrupted];
    const ort = await withCache((cache) => forward(cache, model, seqs));
    const ref = referenceForward(config, model.weights, seqs);
    expect(worstMismatch(ort.logits.data, ref.logits.data, 1e-4, 1e-4)).toBeNull();
    // and with random distractors off, the logits are the same (the distractors are irrelevant)
    const plain = inductionModel({ distractors: false });
    const ref0 = referenceForward(plain.config, plain.weights, seqs);
    expect(worstMismatch(ref0.logits.data, ref.logits.data, 1e-12, 0)).toBeNull();
  });
});

const edgePlan: Plan = {
  captures: [],
  interventions: [],
  gradients: [],
  logits: false,
  edges: { granularity: "head" },
  metric: { kind: "logit-diff" },
};

/**
 * The exact checks of a ground truth: with faithfulness f(C) = (m(C) − m(∅)) / (m(full) − m(∅))
 * (m = mean logit difference, ∅ = every edge ablated):
 *   (a) f(ground truth) ≈ 1, per example too;
 *   (b) removing any one ground-truth edge drops f by ≥ 0.4 and loses ≥ 80% of m(full);
 *   (c) removing any one other edge changes m by ~0.
 */
const checkGroundTruth = (ablation: "resample" | "zero", corrupt: InductionCorruption) =>
  withCache((cache) =>
    Effect.gen(function* () {
      const layout = edgeLayout(config, "head");
      const S = layout.sources.length;
      const D = layout.destinations.length;
      const task = inductionTask(11, 8, { corrupt });
      const B = task.clean.length;
      const truth = new Set(inductionCircuit({ ablation, corrupt }));
      const names = new Set(layout.edges.map((e) => e.name));
      for (const t of truth) expect(names.has(t), t).toBe(true);
      const ablated = yield* ablatedSources(cache, model, layout, ablation, task.clean, {
        corrupted: task.corrupted,
      });
      const maskOf = (keep: (e: Edge) => boolean): HostTensor => {
        const m = fullMask(layout, B, 0);
        for (const e of layout.edges)
          if (keep(e)) for (let b = 0; b < B; b++) m.data[b * S * D + maskIndex(layout, e)] = 1;
        return m;
      };
      const run = (mask: HostTensor) =>
        Effect.map(
          runPlan(cache, model, edgePlan, task.clean, { edges: { mask, ablated }, metric: task }),
          (r) => r.metric!,
        );
      const full = yield* run(fullMask(layout, B, 1));
      const none = yield* run(fullMask(layout, B, 0));
      const range = full.mean - none.mean;
      const gt = yield* run(maskOf((e) => truth.has(e.name)));
      const perExample = [...gt.perExample].map(
        (x, b) => (x - none.perExample[b]!) / (full.perExample[b]! - none.perExample[b]!),
      );
      const dropped: Record<string, number> = {}; // f without the edge
      const kept: Record<string, number> = {}; //    m(without the edge) / m(full)
      let worstOther = { name: "", delta: 0 };
      for (const e of layout.edges) {
        const r = yield* run(maskOf((x) => x.index !== e.index));
        if (truth.has(e.name)) {
          dropped[e.name] = (r.mean - none.mean) / range;
          kept[e.name] = r.mean / full.mean;
        } else if (Math.abs(r.mean - full.mean) >= Math.abs(worstOther.delta))
          worstOther = { name: e.name, delta: r.mean - full.mean };
      }
      const f = (gt.mean - none.mean) / range;
      console.log(
        `${ablation}/${corrupt}: ${layout.edges.length} edges, m(full) ${full.mean.toFixed(4)}, m(∅) ${none.mean.toFixed(4)}, ` +
          `f(truth) ${f.toFixed(6)} [per example ${Math.min(...perExample).toFixed(6)}…${Math.max(...perExample).toFixed(6)}]; ` +
          `f without one truth edge: ${Object.entries(dropped)
            .map(([k, v]) => `${k} ${v.toFixed(4)} (m/m(full) ${kept[k]!.toFixed(4)})`)
            .join(
              ", ",
            )}; largest |Δm| without a non-truth edge ${Math.abs(worstOther.delta).toExponential(2)} (${worstOther.name})`,
      );
      expect(Math.abs(range)).toBeGreaterThan(1);
      expect(Math.abs(f - 1)).toBeLessThan(0.02);
      for (const x of perExample) expect(Math.abs(x - 1)).toBeLessThan(0.02);
      expect(Object.keys(dropped).length).toBe(truth.size);
      // each truth edge is necessary: f falls by ≥ 0.4 and ≥ 80% of the logit difference is lost
      for (const [name, v] of Object.entries(dropped)) expect(v, name).toBeLessThan(0.6);
      for (const [name, v] of Object.entries(kept)) expect(v, name).toBeLessThan(0.2);
      expect(Math.abs(worstOther.delta) / Math.abs(range), worstOther.name).toBeLessThan(1e-3);
    }),
  );

describe("compiled induction model: the ground-truth circuit (exact edge patching)", () => {
  for (const corrupt of ["both", "first", "second"] as const)
    it(`resample ablation, corruption "${corrupt}"`, () => checkGroundTruth("resample", corrupt));
  it("zero ablation sees the positional edges resample cannot", () => checkGroundTruth("zero", "both"));

  it("positional edges are exactly invisible to resample ablation (METHODS.md §6 trap)", () => {
    const resample = new Set(inductionCircuit({ corrupt: "both" }));
    const zero = new Set(inductionCircuit({ ablation: "zero" }));
    const p = `a0.h${INDUCTION_HEADS.previousToken.head}`;
    for (const e of [`input->${p}<q>`, `input->${p}<k>`]) {
      expect(resample.has(e)).toBe(false);
      expect(zero.has(e)).toBe(true);
    }
  });
});
