import { Effect } from "effect";
import type { InputError, RuntimeError } from "../errors/index.ts";
import type { Model } from "../model/index.ts";
import type { SessionCache } from "../runtime/index.ts";
import { type PlanValues, runPlan } from "./run.ts";
import type { Plan } from "./spec.ts";

/**
 * A plan's metric over a dataset too large for one batch: the dataset runs in chunks of
 * `chunkSize` sequences through one compiled graph, each chunk's values bound by `valuesFor`
 * (clean and corrupted examples stay paired by index: chunk [start, start + n) of every list).
 * Only the per-example metric is kept, so memory is bounded by one chunk's run.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Engine, Runtime } from "@patchbay/core";
 * import { inductionTask } from "@patchbay/zoo";
 * import { Effect } from "effect";
 *
 * const task = inductionTask(0, 6);
 * const result = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.gen(function* () {
 *       const model = yield* Runtime.openModel("builtin:induction");
 *       const measure = Engine.plan({ metric: { kind: "logit-diff" }, logits: false });
 *       const valuesFor = (start: number, end: number) => ({
 *         metric: {
 *           positions: task.positions.slice(start, end),
 *           answers: task.answers.slice(start, end),
 *           wrong: task.wrong.slice(start, end),
 *         },
 *       });
 *       return yield* Engine.metricOverDataset(model.sessions, model, measure, task.clean, valuesFor, 4);
 *     }),
 *   ),
 * );
 * assert.equal(result.perExample.length, 6); // two chunks, one value per example
 * ```
 */
export const metricOverDataset = (
  cache: SessionCache,
  model: Model,
  plan: Plan,
  seqs: readonly (readonly number[])[],
  valuesFor: (start: number, end: number) => PlanValues,
  chunkSize = 32,
): Effect.Effect<{ readonly perExample: Float32Array; readonly mean: number }, InputError | RuntimeError> =>
  Effect.gen(function* () {
    const perExample = new Float32Array(seqs.length);
    const lean: Plan = { ...plan, captures: [], logits: false };
    for (let start = 0; start < seqs.length; start += chunkSize) {
      const end = Math.min(seqs.length, start + chunkSize);
      const r = yield* runPlan(cache, model, lean, seqs.slice(start, end), valuesFor(start, end));
      perExample.set(r.metric!.perExample, start);
    }
    // Mean in float64 over examples, so chunking does not change it beyond rounding of the inputs.
    let s = 0;
    for (const v of perExample) s += v;
    return { perExample, mean: s / seqs.length };
  });
