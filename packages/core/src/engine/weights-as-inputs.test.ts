import { Effect, Exit } from "effect";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type ModelConfig, randomWeights, type Weights } from "../model/index.ts";
import { arbConfig } from "../reference/arbitraries.ts";
import { makeSessionCache, type SessionCache } from "../runtime/index.ts";
import { maxAbsDiff } from "../testing/compare.ts";
import { spill } from "../weights/index.ts";
import { buildTransformerGraph } from "../transformer/index.ts";
import type { MetricBinding } from "./bind.ts";
import { gradLabel, type PlanResult, runPlan } from "./run.ts";
import { type GradTarget, type Plan, plan } from "./spec.ts";

/**
 * plan.weightsAsInputs: weights are graph inputs bound from the model of each run, so one session
 * serves changing weights (training). The results must equal the initializer graph built for the
 * same weights — logits, metric and every weight gradient — and changing the weights must not
 * compile a new session.
 */
const seqs = (c: ModelConfig) => [
  [1 % c.vocabSize, 3 % c.vocabSize, 2 % c.vocabSize, 4 % c.vocabSize],
  [0, 2 % c.vocabSize, 1 % c.vocabSize],
];
const metric = (c: ModelConfig): MetricBinding => ({
  positions: [[3], [1, 2]],
  answers: [[2 % c.vocabSize], [1 % c.vocabSize, 4 % c.vocabSize]],
  wrong: [[0], [3 % c.vocabSize, 0]],
});

const gradientPlan = (w: Weights, asInputs: boolean): Plan => ({
  captures: ["blocks.0.attn.pattern"],
  interventions: [],
  gradients: [...w.keys()].map((name): GradTarget => ({ _tag: "weight", name })),
  logits: true,
  metric: { kind: "logit-diff" },
  ...(asInputs ? { weightsAsInputs: true } : {}),
});

const runOn = (cache: SessionCache, c: ModelConfig, w: Weights, p: Plan) =>
  runPlan(cache, { config: c, weights: w }, p, seqs(c), { metric: metric(c) });

const fresh = (c: ModelConfig, w: Weights, p: Plan): Promise<PlanResult> =>
  Effect.runPromise(
    Effect.scoped(Effect.flatMap(makeSessionCache("init"), (cache) => runOn(cache, c, w, p))),
  );

const expectSame = (a: PlanResult, b: PlanResult, w: Weights) => {
  expect(maxAbsDiff(a.logits!.data, b.logits!.data)).toBeLessThan(1e-5);
  expect(Math.abs(a.metric!.mean - b.metric!.mean)).toBeLessThan(1e-5);
  expect(
    maxAbsDiff(a.sites.get("blocks.0.attn.pattern")!.data, b.sites.get("blocks.0.attn.pattern")!.data),
  ).toBeLessThan(1e-6);
  for (const name of w.keys()) {
    const label = gradLabel({ _tag: "weight", name });
    const ga = a.grads.get(label)!;
    const gb = b.grads.get(label)!;
    expect(ga.shape, name).toEqual(w.get(name)!.shape);
    expect(gb.shape, name).toEqual(w.get(name)!.shape);
    const scale = Math.max(1, ...[...gb.data].map(Math.abs));
    expect(maxAbsDiff(ga.data, gb.data) / scale, name).toBeLessThan(1e-4);
  }
};

describe("plan.weightsAsInputs", () => {
  it("equals the initializer graph, and new weights reuse the one session", async () => {
    await fc.assert(
      fc.asyncProperty(arbConfig({ maxLayers: 2 }), fc.nat(1000), async (c, seed) => {
        const w1 = randomWeights(c, seed);
        const w2 = randomWeights(c, seed + 1);
        const [r1, r2, size] = await Effect.runPromise(
          Effect.scoped(
            Effect.gen(function* () {
              const cache = yield* makeSessionCache("inputs");
              const r1 = yield* runOn(cache, c, w1, gradientPlan(w1, true));
              const r2 = yield* runOn(cache, c, w2, gradientPlan(w2, true));
              return [r1, r2, cache.size()] as const;
            }),
          ),
        );
        expect(size).toBe(1);
        expectSame(r1, await fresh(c, w1, gradientPlan(w1, false)), w1);
        expectSame(r2, await fresh(c, w2, gradientPlan(w2, false)), w2);
      }),
      { numRuns: 8, seed: 5 },
    );
  });

  it("spilled weights give bit-identical results, as initializers and as inputs (issue 16 §4)", async () => {
    await fc.assert(
      fc.asyncProperty(arbConfig({ maxLayers: 2 }), fc.nat(1000), async (c, seed) => {
        const w = randomWeights(c, seed);
        const both = (weights: Weights) =>
          Effect.gen(function* () {
            const cache = yield* makeSessionCache("spilled");
            const asInits = yield* runOn(cache, c, weights, gradientPlan(weights, false));
            const asInputs = yield* runOn(cache, c, weights, gradientPlan(weights, true));
            return [asInits, asInputs] as const;
          });
        const [heap, spilled] = await Effect.runPromise(
          Effect.scoped(
            Effect.gen(function* () {
              return [yield* both(w), yield* both(yield* spill(w))] as const;
            }),
          ),
        );
        for (const k of [0, 1] as const) {
          expect([...spilled[k].logits!.data]).toEqual([...heap[k].logits!.data]);
          expect(spilled[k].metric!.mean).toBe(heap[k].metric!.mean);
          for (const [label, g] of heap[k].grads)
            expect([...spilled[k].grads.get(label)!.data]).toEqual([...g.data]);
        }
      }),
      { numRuns: 4, seed: 7 },
    );
  });

  it("the graph has the weights as inputs of canonical shape and no weight initializers", () => {
    const c: ModelConfig = {
      name: "wi",
      family: "zoo",
      dModel: 8,
      nLayers: 1,
      nHeads: 2,
      nKvHeads: 1,
      dHead: 4,
      dMlp: 12,
      gatedMlp: false,
      act: "gelu",
      vocabSize: 11,
      nCtx: 8,
      positional: "none",
      rotary: { dim: 4, base: 10000, style: "half" },
      norm: "layernorm",
      normEps: 1e-5,
      parallelResidual: false,
      attnScale: 0.5,
    };
    const w = randomWeights(c, 3);
    const { graph } = buildTransformerGraph(c, w, { weightsAsInputs: true });
    const inputs = new Map(graph.inputs.map((v) => [v.name, v.shape]));
    for (const [name, t] of w) expect(inputs.get(name), name).toEqual(t.shape);
    const floatInits = graph.initializers.filter(
      (i) => i.data.dtype === "float32" && i.value.shape.length > 0,
    );
    expect(floatInits.map((i) => i.value.name)).toEqual(["rotary.inv_freq"]);
  });

  it("a weight missing from the model is an InputError naming it", async () => {
    const c: ModelConfig = {
      name: "wi-missing",
      family: "zoo",
      dModel: 8,
      nLayers: 1,
      nHeads: 2,
      nKvHeads: 2,
      dHead: 4,
      dMlp: null,
      gatedMlp: false,
      act: "relu",
      vocabSize: 11,
      nCtx: 8,
      positional: "learned",
      rotary: null,
      norm: "none",
      normEps: 1e-5,
      parallelResidual: false,
      attnScale: 0.5,
    };
    const w = randomWeights(c, 1, { biases: false });
    const p = plan({ weightsAsInputs: true });
    const exit = await Effect.runPromiseExit(
      Effect.scoped(
        Effect.gen(function* () {
          const cache = yield* makeSessionCache("missing");
          yield* runPlan(cache, { config: c, weights: w }, p, [[1, 2]]);
          const less = new Map(w);
          less.delete("unembed.W_U");
          return yield* runPlan(cache, { config: c, weights: less }, p, [[1, 2]]);
        }),
      ),
    );
    expect(Exit.isFailure(exit)).toBe(true);
    expect(String(exit)).toContain("weights.unembed.W_U");
  });
});
