import { argmax, type SessionCache } from "@patchbay/core/runtime";
import { InputError, type RuntimeError } from "@patchbay/core/errors";
import { lookupSite } from "@patchbay/core/sites";
import { type MetricBinding, plan, runPlan } from "@patchbay/core/engine";
import type { Model, ModelConfig } from "@patchbay/core/model";
import type { Tokenizer } from "@patchbay/core/tokenizer";
import { Effect } from "effect";
import {
  type SteeringData,
  type SteeringPoint,
  type SteeringResult,
  type SteeringSpec,
  steeringProblem,
} from "./spec.ts";
import { diffOfMeans, resolveMeanPositions } from "./vector.ts";

/**
 * The strength sweep: for each α, the target prompts run through the engine with
 *   x′[b, p] = x[b, p] + α·v      at the steered positions (an `add` intervention, shape "vector")
 * and the plan's metric is read at the metric positions. α = 0 adds exact zeros, so it reproduces
 * the clean run; greedy continuations (optional) keep adding α·v at every step.
 */

/**
 * The site must be [batch, pos, d]: the steering vector lives on its last axis.
 *
 * Returns the canonical site name, as an Effect failing with an InputError.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { inductionModel } from "@patchbay/zoo";
 * import { Effect, Exit } from "effect";
 * import { checkSteeringSite } from "@patchbay/readouts";
 *
 * const c = inductionModel().config;
 * assert.equal(await Effect.runPromise(checkSteeringSite(c, "blocks.1.resid_post")), "blocks.1.resid_post");
 * assert.ok(Exit.isFailure(await Effect.runPromiseExit(checkSteeringSite(c, "blocks.1.attn.hook_pattern"))));
 * ```
 */
export const checkSteeringSite = (c: ModelConfig, site: string): Effect.Effect<string, InputError> => {
  const r = lookupSite(c, site);
  if (!r.ok)
    return Effect.fail(
      new InputError({
        field: "site",
        expected: `a site of ${c.name}; nearest: ${r.suggestions.join(", ")}`,
        found: JSON.stringify(site),
      }),
    );
  const dims = r.site.dims;
  if (dims.length !== 3 || dims[0] !== "batch" || dims[1] !== "pos")
    return Effect.fail(
      new InputError({
        field: "site",
        expected: "a site of shape [batch, pos, d] (residual stream, attn_out, mlp.post, …)",
        found: `${r.site.name} [${dims.join(", ")}]`,
      }),
    );
  return Effect.succeed(r.site.name);
};

/** Engine positions of the add intervention; "last" becomes each prompt's last position. */
const steerPositions = (
  p: SteeringSpec["positions"],
  seqs: readonly (readonly number[])[],
): "all" | readonly number[] | readonly (readonly number[])[] =>
  p === "last" ? seqs.map((s) => [s.length - 1]) : p;

const steerPlan = (
  site: string,
  positions: SteeringSpec["positions"],
  seqs: readonly (readonly number[])[],
) =>
  ({
    _tag: "add",
    target: { site, positions: steerPositions(positions, seqs) },
    shape: "vector",
  }) as const;

/** α·v as the float32 [d] value of the add intervention; non-finite → InputError. */
const scaled = (v: Float64Array, alpha: number): Effect.Effect<Float32Array, InputError> => {
  const out = Float32Array.from(v, (x) => alpha * x);
  for (const x of out)
    if (!Number.isFinite(x))
      return Effect.fail(
        new InputError({ field: "alphas", expected: "a finite α·v", found: `${alpha}·v = ${x}` }),
      );
  return Effect.succeed(out);
};

/**
 * The metric binding of the targets: metric positions (default last), answers, wrong ids.
 *
 * Returns the MetricBinding `{ positions, answers, wrong? }`, as an Effect failing with an InputError.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Effect } from "effect";
 * import { inductionSteeringData, targetBinding } from "@patchbay/readouts";
 *
 * const data = inductionSteeringData(5, 6, [10, 11, 12, 13]);
 * const b = await Effect.runPromise(targetBinding(data, true));
 * assert.deepEqual(b.positions[0], [data.targets[0]!.length - 1]); // the last position by default
 * ```
 */
export const targetBinding = (
  data: SteeringData,
  needsWrong: boolean,
): Effect.Effect<MetricBinding, InputError> => {
  const n = data.targets.length;
  if (n === 0)
    return Effect.fail(
      new InputError({ field: "data.targets", expected: "at least one prompt", found: "none" }),
    );
  const positions = data.metricPositions ?? data.targets.map((s) => [s.length - 1]);
  for (const [name, list] of [
    ["metricPositions", positions],
    ["answers", data.answers],
    ...(data.wrong !== undefined ? [["wrong", data.wrong] as const] : []),
  ] as const)
    if (list.length !== n)
      return Effect.fail(
        new InputError({
          field: `data.${name}`,
          expected: `one list per target (${n})`,
          found: `${list.length}`,
        }),
      );
  if (needsWrong && data.wrong === undefined)
    return Effect.fail(
      new InputError({
        field: "data.wrong",
        expected: "wrong ids for a logit-diff or prob-diff metric",
        found: "none",
      }),
    );
  return Effect.succeed({
    positions,
    answers: data.answers,
    ...(data.wrong !== undefined ? { wrong: data.wrong } : {}),
  });
};

/**
 * The metric of every target with α·v added (α = null: no intervention at all, the clean run).
 *
 * Returns the metric per target.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSessionCache } from "@patchbay/core/runtime";
 * import { inductionModel } from "@patchbay/zoo";
 * import { Effect, Schema } from "effect";
 * import { inductionSteeringData, steeredMetric, SteeringSpec, targetBinding } from "@patchbay/readouts";
 * const model = inductionModel();
 * const data = inductionSteeringData(5, 6, [10, 11, 12, 13]); // steer toward token 5, away from 6
 * const spec = Schema.decodeUnknownSync(SteeringSpec)({ site: "blocks.1.resid_post", alphas: [0, 1] });
 * const v = new Float64Array(model.config.dModel); // a zero vector: steering changes nothing
 * const [clean, steered] = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.flatMap(makeSessionCache("doc", { threads: 1 }), (cache) =>
 *       Effect.flatMap(targetBinding(data, true), (b) =>
 *         Effect.all([null, 2].map((a) => steeredMetric(cache, model, spec, spec.site, v, a, data.targets, b))),
 *       ),
 *     ),
 *   ),
 * );
 * assert.deepEqual(steered, clean);
 * ```
 */
export const steeredMetric = (
  cache: SessionCache,
  model: Model,
  spec: SteeringSpec,
  site: string,
  v: Float64Array,
  alpha: number | null,
  targets: readonly (readonly number[])[],
  binding: MetricBinding,
): Effect.Effect<number[], InputError | RuntimeError> =>
  Effect.gen(function* () {
    const out: number[] = [];
    const value = alpha === null ? null : yield* scaled(v, alpha);
    for (let start = 0; start < targets.length; start += spec.chunkSize) {
      const end = Math.min(targets.length, start + spec.chunkSize);
      const seqs = targets.slice(start, end);
      const steered = plan({
        interventions: value === null ? [] : [steerPlan(site, spec.positions, seqs)],
        metric: { kind: spec.metric },
        logits: false,
      });
      const r = yield* runPlan(cache, model, steered, seqs, {
        interventions: value === null ? [] : [{ value: { data: value, shape: [v.length] } }],
        metric: {
          positions: binding.positions.slice(start, end),
          answers: binding.answers.slice(start, end),
          ...(binding.wrong !== undefined ? { wrong: binding.wrong.slice(start, end) } : {}),
        },
      });
      for (const x of r.metric!.perExample) {
        if (!Number.isFinite(x))
          return yield* new InputError({
            field: `metric at α = ${alpha}`,
            expected: "a finite value",
            found: String(x),
          });
        out.push(x);
      }
    }
    return out;
  });

/**
 * Greedy continuation of every target, α·v added at the steered positions at every step.
 *
 * Returns, per target, the generated token ids.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSessionCache } from "@patchbay/core/runtime";
 * import { inductionModel } from "@patchbay/zoo";
 * import { Effect, Schema } from "effect";
 * import { inductionSteeringData, steeredGreedy, SteeringSpec } from "@patchbay/readouts";
 * const model = inductionModel();
 * const data = inductionSteeringData(5, 6, [10, 11, 12, 13]); // steer toward token 5, away from 6
 * const spec = Schema.decodeUnknownSync(SteeringSpec)({ site: "blocks.1.resid_post", alphas: [0, 1] });
 * const v = new Float64Array(model.config.dModel);
 * const r = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.flatMap(makeSessionCache("doc", { threads: 1 }), (cache) =>
 *       steeredGreedy(cache, model, spec, spec.site, v, 1, data.targets, 2),
 *     ),
 *   ),
 * );
 * assert.equal(r.length, data.targets.length);
 * assert.equal(r[0]!.length, 2); // two greedy tokens per target
 * ```
 */
export const steeredGreedy = (
  cache: SessionCache,
  model: Model,
  spec: SteeringSpec,
  site: string,
  v: Float64Array,
  alpha: number,
  targets: readonly (readonly number[])[],
  steps: number,
): Effect.Effect<number[][], InputError | RuntimeError> =>
  Effect.gen(function* () {
    const value = yield* scaled(v, alpha);
    const seqs = targets.map((s) => [...s]);
    const V = model.config.vocabSize;
    for (let step = 0; step < steps; step++) {
      if (seqs.some((s) => s.length >= model.config.nCtx)) break;
      const r = yield* runPlan(
        cache,
        model,
        plan({ interventions: [steerPlan(site, spec.positions, seqs)] }),
        seqs,
        { interventions: [{ value: { data: value, shape: [v.length] } }] },
      );
      const logits = r.logits!; //                                               [b, P, V]
      const P = logits.shape[1]!;
      seqs.forEach((s, b) => {
        const row = (b * P + s.length - 1) * V;
        s.push(argmax(logits.data.subarray(row, row + V)));
      });
    }
    return seqs.map((s, b) => s.slice(targets[b]!.length));
  });

/**
 * The main entry: the difference-of-means vector at `spec.site`, then the sweep over spec.alphas
 * (metric per α, and greedy continuations when spec.generateTokens > 0, decoded when a tokenizer
 * is given).
 *
 * Returns a SteeringResult `{ site, metricKind, vector, norm, clean, cleanPerExample, sweep: [{ alpha, metric, perExample, continuations }] }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSessionCache } from "@patchbay/core/runtime";
 * import { inductionModel } from "@patchbay/zoo";
 * import { Effect, Schema } from "effect";
 * import { inductionSteeringData, steer, SteeringSpec } from "@patchbay/readouts";
 * const model = inductionModel();
 * const data = inductionSteeringData(5, 6, [10, 11, 12, 13]); // steer toward token 5, away from 6
 * const spec = Schema.decodeUnknownSync(SteeringSpec)({ site: "blocks.1.resid_post", alphas: [0, 1] });
 * const r = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.flatMap(makeSessionCache("doc", { threads: 1 }), (cache) =>
 *       steer(cache, model, spec, data),
 *     ),
 *   ),
 * );
 * const [zero, one] = r.sweep;
 * assert.ok(one!.metric > zero!.metric); // adding the vector raises logit[5] − logit[6]
 * ```
 */
export const steer = (
  cache: SessionCache,
  model: Model,
  spec: SteeringSpec,
  data: SteeringData,
  tokenizer: Tokenizer | null = null,
): Effect.Effect<SteeringResult, InputError | RuntimeError> =>
  Effect.gen(function* () {
    const refused = steeringProblem(spec, data);
    if (refused !== null) return yield* refused;
    const site = yield* checkSteeringSite(model.config, spec.site);
    const binding = yield* targetBinding(data, spec.metric === "logit-diff" || spec.metric === "prob-diff");
    const v = yield* diffOfMeans(
      cache,
      model,
      site,
      {
        prompts: data.positive,
        positions: resolveMeanPositions(data.positive, data.positivePositions, spec.meanPositions),
      },
      {
        prompts: data.negative,
        positions: resolveMeanPositions(data.negative, data.negativePositions, spec.meanPositions),
      },
      spec.chunkSize,
    );
    return yield* sweepVector(cache, model, spec, v, data, binding, tokenizer);
  });

/**
 * The sweep for a given vector v [d] (from diffOfMeans or anywhere else).
 *
 * Returns a SteeringResult.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSessionCache } from "@patchbay/core/runtime";
 * import { inductionModel } from "@patchbay/zoo";
 * import { Effect, Schema } from "effect";
 * import { inductionSteeringData, SteeringSpec, sweepVector, targetBinding } from "@patchbay/readouts";
 * const model = inductionModel();
 * const data = inductionSteeringData(5, 6, [10, 11, 12, 13]);
 * const spec = Schema.decodeUnknownSync(SteeringSpec)({ site: "blocks.1.resid_post", alphas: [0, 1] });
 * const v = new Float64Array(model.config.dModel); // any v [d]; the zero vector leaves the model as it is
 * const r = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.flatMap(makeSessionCache("doc", { threads: 1 }), (cache) =>
 *       Effect.flatMap(targetBinding(data, true), (b) => sweepVector(cache, model, spec, v, data, b)),
 *     ),
 *   ),
 * );
 * assert.equal(r.sweep.length, 2);
 * assert.equal(r.sweep[1]!.metric, r.clean);
 * ```
 */
export const sweepVector = (
  cache: SessionCache,
  model: Model,
  spec: SteeringSpec,
  v: Float64Array,
  data: Pick<SteeringData, "targets">,
  binding: MetricBinding,
  tokenizer: Tokenizer | null = null,
): Effect.Effect<SteeringResult, InputError | RuntimeError> =>
  Effect.gen(function* () {
    const site = yield* checkSteeringSite(model.config, spec.site);
    // the engine checks v against the site's last axis (InputError naming interventions[0].value)
    const clean = yield* steeredMetric(cache, model, spec, site, v, null, data.targets, binding);
    const sweep: SteeringPoint[] = [];
    for (const alpha of spec.alphas) {
      const perExample = yield* steeredMetric(cache, model, spec, site, v, alpha, data.targets, binding);
      const continuations =
        spec.generateTokens > 0
          ? (yield* steeredGreedy(cache, model, spec, site, v, alpha, data.targets, spec.generateTokens)).map(
              (ids) => ({
                ids,
                text: tokenizer?.decode(ids) ?? null,
              }),
            )
          : null;
      sweep.push({ alpha, metric: mean(perExample), perExample, continuations });
    }
    let n2 = 0;
    for (const x of v) n2 += x * x;
    return {
      site: spec.site,
      metricKind: spec.metric,
      vector: Array.from(v),
      norm: Math.sqrt(n2),
      clean: mean(clean),
      cleanPerExample: clean,
      sweep,
    };
  });

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
