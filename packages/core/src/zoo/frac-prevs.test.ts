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
  FRAC_BOS,
  FRAC_HEADS,
  FRAC_X,
  fracBin,
  fracPrevsCircuit,
  fracPrevsModel,
  fracPrevsProgram,
  fracPrevsTask,
} from "./index.ts";

const withCache = <A, E>(f: (cache: SessionCache) => Effect.Effect<A, E>) =>
  Effect.runPromise(Effect.scoped(Effect.flatMap(makeSessionCache("zoo-frac-prevs"), f)));

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
    const seqs = [...task.clean, ...task.corrupted];
    const ort = await withCache((cache) => forward(cache, model, seqs));
    const ref = referenceForward(config, model.weights, seqs);
    expect(worstMismatch(ort.logits.data, ref.logits.data, 1e-4, 1e-4)).toBeNull();
    const plain = fracPrevsModel({ distractors: false });
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
 * Exact checks of a ground truth (as for the induction model): f(C) = (m(C) − m(∅)) / (m(full) −
 * m(∅)) with m the mean logit difference; (a) f(truth) ≈ 1, per example too; (b) removing any one
 * truth edge leaves f < 0.6 and m < 0.2·m(full); (c) removing any other edge moves m by < 1e-3 of
 * the range.
 */
const checkGroundTruth = (ablation: "resample" | "zero") =>
  withCache((cache) =>
    Effect.gen(function* () {
      const layout = edgeLayout(config, "head");
      const S = layout.sources.length;
      const D = layout.destinations.length;
      const task = fracPrevsTask(11, 8);
      const B = task.clean.length;
      const truth = new Set(fracPrevsCircuit({ ablation }));
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
      const dropped: Record<string, number> = {};
      const kept: Record<string, number> = {};
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
        `frac_prevs ${ablation}: ${layout.edges.length} edges, m(full) ${full.mean.toFixed(4)}, m(∅) ${none.mean.toFixed(4)}, ` +
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
      for (const [name, v] of Object.entries(dropped)) expect(v, name).toBeLessThan(0.6);
      for (const [name, v] of Object.entries(kept)) expect(v, name).toBeLessThan(0.2);
      expect(Math.abs(worstOther.delta) / Math.abs(range), worstOther.name).toBeLessThan(1e-3);
    }),
  );

describe("compiled frac_prevs: the ground-truth circuit (exact edge patching)", () => {
  it("resample ablation (complement corruption)", () => checkGroundTruth("resample"));
  it("zero ablation sees the positional edge resample cannot", () => checkGroundTruth("zero"));

  it("the positional edge is invisible to resample ablation (METHODS.md §6 trap)", () => {
    expect(fracPrevsCircuit().includes("input->m1")).toBe(false);
    expect(fracPrevsCircuit({ ablation: "zero" }).includes("input->m1")).toBe(true);
    const M = `a${FRAC_HEADS.mean.layer}.h${FRAC_HEADS.mean.head}`;
    for (const a of ["resample", "zero"] as const)
      for (const e of [`input->${M}<q>`, `input->${M}<k>`])
        expect(fracPrevsCircuit({ ablation: a })).not.toContain(e);
  });
});
