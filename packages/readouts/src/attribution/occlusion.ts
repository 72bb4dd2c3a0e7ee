import type { InputError, RuntimeError } from "@patchbay/core/errors";
import type { Model } from "@patchbay/core/model";
import { plan, runPlan } from "@patchbay/core/engine";
import type { SessionCache } from "@patchbay/core/runtime";
import { Effect } from "effect";
import { checkFinite, chunks, tiledBinding } from "./input-site.ts";
import type { AttributionMetricKind, InputExample } from "./spec.ts";

/**
 * Occlusion (Zeiler & Fergus 2014) over input tokens: for each position p, the metric when x_p
 * alone is replaced by the baseline x′_p, all P occlusions in one batch (row p replaces position
 * p: a replace intervention with per-example positions [[0], [1], …]):
 *
 *   occluded_p   = F(x with x_p := x′_p)
 *   attribution_p = F(x) − occluded_p          (> 0: the token supports the metric)
 */
export interface Occlusion {
  readonly attributions: number[];
  readonly occluded: number[];
}

/**
 * Occlusion: the metric's drop when each token's value at the site is replaced by the baseline's, one token at a time. Returns `{ attributions, occluded, … }`, one entry per token.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSessionCache } from "@patchbay/core/runtime";
 * import { inductionModel, inductionTask } from "@patchbay/zoo";
 * import { Effect } from "effect";
 * import { inputGradient, occlusion } from "@patchbay/readouts";
 * const model = inductionModel();
 * const t = inductionTask(0, 1, { blockLen: 4 });
 * const ex = { ids: t.clean[0]!, positions: t.positions[0]!, answers: t.answers[0]!, wrong: t.wrong[0]! };
 * const r = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.flatMap(makeSessionCache("doc", { threads: 1 }), (cache) =>
 *       Effect.gen(function* () {
 *         const { x, metric } = yield* inputGradient(cache, model, "embed", "logit-diff", ex);
 *         return yield* occlusion(cache, model, "embed", "logit-diff", ex, metric, new Float32Array(x.length), 16);
 *       }),
 *     ),
 *   ),
 * );
 * assert.equal(r.attributions.length, ex.ids.length);
 * ```
 */
export const occlusion = (
  cache: SessionCache,
  model: Model,
  site: string,
  kind: AttributionMetricKind,
  ex: InputExample,
  clean: number,
  xBase: Float32Array,
  batchSize: number,
  field = "examples[0]",
): Effect.Effect<Occlusion, InputError | RuntimeError> =>
  Effect.gen(function* () {
    const P = ex.ids.length;
    const N = P * model.config.dModel;
    const occluded = new Array<number>(P);
    for (const [s, e] of chunks(P, batchSize)) {
      const R = e - s;
      const value = new Float32Array(R * N); // [R, P, d]: x′ in every row; the mask picks position s + r
      for (let r = 0; r < R; r++) value.set(xBase, r * N);
      const positions = Array.from({ length: R }, (_, r) => [s + r]);
      const out = yield* runPlan(
        cache,
        model,
        plan({
          interventions: [{ _tag: "replace", target: { site, positions } }],
          metric: { kind },
          logits: false,
        }),
        Array.from({ length: R }, () => ex.ids),
        {
          interventions: [{ value: { data: value, shape: [R, P, model.config.dModel] } }],
          metric: tiledBinding(ex, R),
        },
      );
      checkFinite(out.metric!.perExample, `${field}.occlusion`, "metric values");
      for (let r = 0; r < R; r++) occluded[s + r] = out.metric!.perExample[r]!;
    }
    return { attributions: occluded.map((o) => clean - o), occluded };
  });
