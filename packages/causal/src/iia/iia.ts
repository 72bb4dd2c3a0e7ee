import { argmax, type SessionCache } from "@patchbay/core/runtime";
import { InputError, type RuntimeError } from "@patchbay/core/errors";
import type { Model } from "@patchbay/core/model";
import { plan, runPlan } from "@patchbay/core/engine";
import { Effect } from "effect";
import type { Alignment } from "../alignment/schema.ts";
import type { CounterfactualExample } from "../model/counterfactuals.ts";
import type { CausalError } from "../model/errors.ts";
import type { CausalTask } from "../task/task.ts";
import { interchangeBatch, type Rotations } from "./interchange.ts";

/**
 * Interchange intervention accuracy (docs/methods.md#iia): the fraction of (base, source) pairs where
 * the network, with each aligned site interchanged from its source, predicts the high-level
 * model's counterfactual label (argmax of the logits at the readout position).
 */
export interface IiaResult {
  readonly accuracy: number;
  readonly n: number;
  /** [n] whether the intervened network predicted the counterfactual label */
  readonly correct: readonly boolean[];
  /** [n] the intervened network's prediction (token id) */
  readonly predicted: readonly number[];
  /** accuracy per family name */
  readonly perFamily: Readonly<Record<string, { readonly accuracy: number; readonly n: number }>>;
}

export interface IiaOptions {
  readonly rotations?: Rotations;
  /** examples per run (default 32) */
  readonly chunkSize?: number;
}

/**
 * Interchange intervention accuracy: run each counterfactual example with the aligned variables interchanged in the network and count how often it predicts the causal model's counterfactual label. Returns `{ accuracy, n, correct, predicted, perFamily }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { counterfactuals, familyOf, iia, inductionAlignments, inductionCausalTask } from "@patchbay/causal";
 * import { makeSessionCache } from "@patchbay/core/runtime";
 * import { Effect } from "effect";
 *
 * const { task, network, vocabSize, blockLen } = inductionCausalTask();
 * const align = inductionAlignments(vocabSize, blockLen);
 * const data = counterfactuals(task.model, familyOf(task, "query"), { n: 16, seed: 1 });
 * const r = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.flatMap(makeSessionCache("doc", { threads: 1 }), (cache) => iia(cache, network(), task, align.query, data)),
 *   ),
 * );
 * assert.equal(r.n, 16);
 * assert.ok(r.accuracy >= 0.9); // the query variable lives where the alignment says
 * ```
 */
export const iia = (
  cache: SessionCache,
  model: Model,
  task: CausalTask,
  alignment: Alignment,
  examples: readonly CounterfactualExample[],
  opts: IiaOptions = {},
): Effect.Effect<IiaResult, CausalError | InputError | RuntimeError> =>
  Effect.gen(function* () {
    // IIA over nothing would read as 0 (or as anything): no examples is bad input, not a result
    if (examples.length === 0)
      return yield* new InputError({
        field: "iia examples",
        expected: "at least one counterfactual example",
        found: "none",
      });
    const chunk = opts.chunkSize ?? 32;
    const correct: boolean[] = [];
    const predicted: number[] = [];
    for (let start = 0; start < examples.length; start += chunk) {
      const part = examples.slice(start, start + chunk);
      const ib = yield* interchangeBatch(cache, model, task, alignment, part, opts.rotations);
      const r = yield* runPlan(cache, model, plan({ interventions: ib.interventions }), ib.baseIds, {
        interventions: ib.values,
      });
      const logits = r.logits!; //                                     [b, P, V]
      const [, P, V] = logits.shape as [number, number, number];
      ib.readout.forEach((p, b) => {
        const id = argmax(logits.data.subarray((b * P + p) * V, (b * P + p + 1) * V));
        predicted.push(id);
        correct.push(id === ib.labels[b]);
      });
    }
    return summarize(examples, correct, predicted);
  });

export const summarize = (
  examples: readonly CounterfactualExample[],
  correct: readonly boolean[],
  predicted: readonly number[],
): IiaResult => {
  const perFamily: Record<string, { accuracy: number; n: number }> = {};
  examples.forEach((e, i) => {
    perFamily[e.family] ??= { accuracy: 0, n: 0 };
    const f = perFamily[e.family]!;
    f.accuracy += correct[i] ? 1 : 0;
    f.n += 1;
  });
  for (const f of Object.values(perFamily)) f.accuracy /= f.n;
  const hits = correct.filter(Boolean).length;
  return {
    accuracy: examples.length === 0 ? 0 : hits / examples.length,
    n: examples.length,
    correct,
    predicted,
    perFamily,
  };
};
