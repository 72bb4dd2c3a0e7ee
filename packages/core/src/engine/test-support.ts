import { Effect } from "effect";
import type { ModelConfig, Weights } from "../model/index.ts";
import { makeSessionCache } from "../runtime/index.ts";
import type { MetricBinding } from "./bind.ts";
import { type PlanValues, runPlan } from "./run.ts";
import { type Plan, plan } from "./spec.ts";

/**
 * What the gradient tests share (gradients.test.ts: engine vs finite differences of the same
 * metric; gradients-reference.test.ts: engine vs the float64 reference): two short sequences, a
 * logit-diff binding over them, and the batch-mean metric of one run.
 */

export const ids = (c: ModelConfig) => [
  [1 % c.vocabSize, 3 % c.vocabSize, 2 % c.vocabSize, 4 % c.vocabSize],
  [0, 2 % c.vocabSize, 1 % c.vocabSize, 3 % c.vocabSize],
];
export const metric = (c: ModelConfig): MetricBinding => ({
  positions: [[3], [2, 3]],
  answers: [[2 % c.vocabSize], [1 % c.vocabSize, 4 % c.vocabSize]],
  wrong: [[0], [3 % c.vocabSize, 0]],
});

export const metricOf = (c: ModelConfig, w: Weights, plan: Plan, values: PlanValues) =>
  Effect.runPromise(
    Effect.scoped(
      Effect.flatMap(makeSessionCache("fd"), (cache) =>
        runPlan(cache, { config: c, weights: w }, plan, ids(c), values),
      ),
    ),
  );

export const base = (p: Partial<Plan>): Plan => plan({ logits: false, metric: { kind: "logit-diff" }, ...p });
