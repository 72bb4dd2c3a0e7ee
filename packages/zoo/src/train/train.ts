import { Effect } from "effect";
import { type AdamOptions, adamInit, adamStep } from "@patchbay/core/optim";
import { gradLabel, type GradTarget, type Plan, plan, runPlan } from "@patchbay/core/engine";
import type { HostTensor } from "@patchbay/core/tensor";
import type { InputError, RuntimeError } from "@patchbay/core/errors";
import { makeSessionCache, type SessionCache } from "@patchbay/core/runtime";
import { type Model, mulberry32, type Weights } from "@patchbay/core/model";

/**
 * A trainer on the engine's autodiff: each step is one runPlan whose plan has metric
 * "cross-entropy" at the task's positions and a gradient w.r.t. every weight, so ORT computes
 * forward and backward in one session; Adam (core's optim/adam.ts) updates the weights on the host.
 *
 * The plan sets `weightsAsInputs`: weights are graph inputs bound from the model of each run, not
 * initializers, so the training session (and the held-out evaluation session) is compiled once and
 * re-used for every step. Deterministic given the seed: the data order comes from mulberry32(seed),
 * the held-out set from its own stream, and Adam's update is a fixed-order float64 computation.
 */

/** One training example: a sequence, the positions that are scored and their target tokens. */
export interface TrainExample {
  readonly seq: readonly number[];
  readonly positions: readonly number[];
  /** The cross-entropy target at each position. */
  readonly targets: readonly number[];
  /** Tokens counted as correct at each position (default: the target alone). */
  readonly accept?: readonly (readonly number[])[];
}

export interface TrainTask {
  readonly name: string;
  /** One example drawn with `rand` (uniform in [0, 1)). */
  readonly sample: (rand: () => number) => TrainExample;
}

export interface TrainOptions extends AdamOptions {
  readonly seed: number;
  readonly steps: number;
  readonly batchSize: number;
  /** Evaluate on the held-out set every this many steps (and after the last); default 50. */
  readonly evalEvery?: number;
  /** Held-out examples (default 256), drawn from a stream independent of the training data. */
  readonly heldOut?: number;
  /** ORT intra-op threads (default: ORT's choice). */
  readonly threads?: number;
  /** Called after each evaluation (progress printing). */
  readonly onEval?: (point: CurvePoint) => void;
}

export interface CurvePoint {
  readonly step: number;
  /** Mean training loss of the steps since the previous point. */
  readonly trainLoss: number;
  readonly heldOutLoss: number;
  /** Fraction of held-out scored positions whose argmax is accepted. */
  readonly heldOutAccuracy: number;
}

export interface TrainResult {
  readonly weights: Weights;
  /** Training loss of every step (the batch mean before that step's update). */
  readonly losses: readonly number[];
  /** Held-out loss and accuracy at step 0 and every evalEvery steps. */
  readonly curve: readonly CurvePoint[];
  readonly seconds: number;
}

/** A stream for the held-out set that shares nothing with mulberry32(seed). */
const heldOutSeed = (seed: number): number => (Math.imul(seed ^ 0x7f4a7c15, 0x2545f491) + 0x6a09e667) >>> 0;

/**
 * n training examples drawn from a task with `rand`: `{ seq, positions, targets, accept? }` each.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mulberry32 } from "@patchbay/core/model";
 * import { inductionTrainTask, sampleExamples } from "@patchbay/zoo";
 *
 * const xs = sampleExamples(inductionTrainTask(), mulberry32(0), 4);
 * assert.equal(xs.length, 4);
 * assert.equal(xs[0]!.positions.length, xs[0]!.targets.length);
 * ```
 */
export const sampleExamples = (task: TrainTask, rand: () => number, n: number): TrainExample[] =>
  Array.from({ length: n }, () => task.sample(rand));

/**
 * The training plan: cross-entropy with a gradient for every weight, weights as inputs.
 *
 * Returns the engine Plan.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { inductionModel, trainPlan } from "@patchbay/zoo";
 *
 * const plan = trainPlan(inductionModel().weights);
 * assert.equal(plan.metric?.kind, "cross-entropy");
 * assert.equal(plan.weightsAsInputs, true);
 * ```
 */
export const trainPlan = (weights: Weights): Plan =>
  plan({
    metric: { kind: "cross-entropy" },
    gradients: [...weights.keys()].map((name): GradTarget => ({ _tag: "weight", name })),
    logits: false,
    weightsAsInputs: true,
  });

const evalPlan: Plan = plan({ metric: { kind: "cross-entropy" }, weightsAsInputs: true });

const binding = (batch: readonly TrainExample[]) => ({
  positions: batch.map((e) => [...e.positions]),
  answers: batch.map((e) => [...e.targets]),
});

/** Index of the largest logit (first on ties). */
const argmaxAt = (logits: HostTensor, b: number, p: number): number => {
  const [, P, V] = logits.shape as [number, number, number];
  const row = logits.data.subarray((b * P + p) * V, (b * P + p + 1) * V);
  let best = 0;
  for (let i = 1; i < V; i++) if (row[i]! > row[best]!) best = i;
  return best;
};

/**
 * Held-out cross-entropy (mean over examples) and accuracy (over scored positions).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mulberry32, randomWeights } from "@patchbay/core/model";
 * import { makeSessionCache } from "@patchbay/core/runtime";
 * import { Effect } from "effect";
 * import { evaluate, inductionTrainTask, sampleExamples, trainedInductionConfig } from "@patchbay/zoo";
 * const config = trainedInductionConfig();
 * const model = { config, weights: randomWeights(config, 0) };
 * const examples = sampleExamples(inductionTrainTask(), mulberry32(0), 8);
 * const r = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.flatMap(makeSessionCache("doc", { threads: 1 }), (cache) =>
 *       evaluate(cache, model, examples),
 *     ),
 *   ),
 * );
 * assert.ok(r.loss > 0);
 * assert.ok(r.accuracy >= 0 && r.accuracy <= 1);
 * ```
 */
export const evaluate = (
  cache: SessionCache,
  model: Model,
  examples: readonly TrainExample[],
  chunk = 256,
): Effect.Effect<{ loss: number; accuracy: number }, InputError | RuntimeError> =>
  Effect.gen(function* () {
    let loss = 0;
    let right = 0;
    let total = 0;
    for (let s = 0; s < examples.length; s += chunk) {
      const batch = examples.slice(s, s + chunk);
      const r = yield* runPlan(
        cache,
        model,
        evalPlan,
        batch.map((e) => e.seq),
        { metric: binding(batch) },
      );
      loss += r.metric!.perExample.reduce((a, b) => a + b, 0);
      for (const [b, e] of batch.entries())
        for (const [j, p] of e.positions.entries()) {
          const top = argmaxAt(r.logits!, b, p);
          const ok = e.accept !== undefined ? e.accept[j]!.includes(top) : top === e.targets[j];
          if (ok) right++;
          total++;
        }
    }
    return { loss: loss / examples.length, accuracy: right / total };
  });

/**
 * Train `model` (its weights are the initialisation) on `task`; see the comment at the top.
 *
 * Returns `{ weights, losses, curve, seconds }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { randomWeights } from "@patchbay/core/model";
 * import { Effect } from "effect";
 * import { inductionTrainTask, train, trainedInductionConfig } from "@patchbay/zoo";
 * const config = trainedInductionConfig();
 * const model = { config, weights: randomWeights(config, 0) };
 * const r = await Effect.runPromise(
 *   train(model, inductionTrainTask(), { seed: 0, steps: 5, batchSize: 8, heldOut: 16, evalEvery: 5, threads: 1, lr: 1e-2 }),
 * );
 * assert.equal(r.losses.length, 5);
 * assert.equal(r.curve.at(-1)!.step, 5);
 * ```
 */
export const train = (
  model: Model,
  task: TrainTask,
  opts: TrainOptions,
): Effect.Effect<TrainResult, InputError | RuntimeError> =>
  Effect.scoped(
    Effect.gen(function* () {
      const start = performance.now();
      const cache = yield* makeSessionCache(
        `train:${model.config.name}`,
        opts.threads !== undefined ? { threads: opts.threads } : {},
      );
      const rand = mulberry32(opts.seed);
      const heldOut = sampleExamples(task, mulberry32(heldOutSeed(opts.seed)), opts.heldOut ?? 256);
      const plan = trainPlan(model.weights);
      const evalEvery = opts.evalEvery ?? 50;
      let weights: Weights = model.weights;
      let state = adamInit(weights);
      const losses: number[] = [];
      const curve: CurvePoint[] = [];
      const point = (step: number) =>
        Effect.gen(function* () {
          const { loss, accuracy } = yield* evaluate(cache, { config: model.config, weights }, heldOut);
          const since = losses.slice(curve.length === 0 ? 0 : curve[curve.length - 1]!.step);
          const p: CurvePoint = {
            step,
            trainLoss: since.length > 0 ? since.reduce((a, b) => a + b, 0) / since.length : Number.NaN,
            heldOutLoss: loss,
            heldOutAccuracy: accuracy,
          };
          curve.push(p);
          opts.onEval?.(p);
        });
      yield* point(0);
      for (let step = 1; step <= opts.steps; step++) {
        const batch = sampleExamples(task, rand, opts.batchSize);
        const r = yield* runPlan(
          cache,
          { config: model.config, weights },
          plan,
          batch.map((e) => e.seq),
          { metric: binding(batch) },
        );
        losses.push(r.metric!.mean);
        const grads = new Map(
          [...weights.keys()].map(
            (name) => [name, r.grads.get(gradLabel({ _tag: "weight", name }))!] as const,
          ),
        );
        const next = adamStep(weights, grads, state, opts);
        weights = next.weights;
        state = next.state;
        if (step % evalEvery === 0 || step === opts.steps) yield* point(step);
      }
      return { weights, losses, curve, seconds: (performance.now() - start) / 1000 };
    }),
  );
