import { gradLabel, plan, runPlan } from "@patchbay/core/engine";
import type { InputError, RuntimeError } from "@patchbay/core/errors";
import type { Model } from "@patchbay/core/model";
import type { SessionCache } from "@patchbay/core/runtime";
import { Effect } from "effect";
import { checkFinite, tiledBinding } from "./input-site.ts";
import type { AttributionMetricKind, InputExample } from "./spec.ts";

/**
 * The plain gradient and gradient × input (Shrikumar et al. 2016; Simonyan et al. 2013) at an
 * input site, from one engine run of the clean prompt: the site is a gradient leaf, so
 * g = ∂F/∂x [P, d] comes from the engine's backward graph with everything upstream fixed, and x
 * [P, d] is captured in the same run.
 *
 *   gradient_p          = ‖g_p‖₂                         (saliency of token p)
 *   gradient×input_p    = Σ_i x_{p,i} · g_{p,i}          (first-order Taylor term of removing x_p)
 */
export interface InputGradient {
  /** F(x). */
  readonly metric: number;
  /** x [P, d]. */
  readonly x: Float32Array;
  /** ∂F/∂x [P, d]. */
  readonly grad: Float32Array;
}

/**
 * The metric's gradient with respect to one site's value x [P, d_model] of one prompt: `{ metric, x, grad }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSessionCache } from "@patchbay/core/runtime";
 * import { inductionModel, inductionTask } from "@patchbay/zoo";
 * import { Effect } from "effect";
 * import { inputGradient } from "@patchbay/readouts";
 * const model = inductionModel();
 * const t = inductionTask(0, 1, { blockLen: 4 });
 * const ex = { ids: t.clean[0]!, positions: t.positions[0]!, answers: t.answers[0]!, wrong: t.wrong[0]! };
 * const r = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.flatMap(makeSessionCache("doc", { threads: 1 }), (cache) =>
 *       inputGradient(cache, model, "embed", "logit-diff", ex),
 *     ),
 *   ),
 * );
 * assert.equal(r.grad.length, ex.ids.length * model.config.dModel);
 * assert.ok(r.metric > 0); // the model gets the induction answers right
 * ```
 */
export const inputGradient = (
  cache: SessionCache,
  model: Model,
  site: string,
  kind: AttributionMetricKind,
  ex: InputExample,
  field = "examples[0]",
): Effect.Effect<InputGradient, InputError | RuntimeError> =>
  Effect.gen(function* () {
    const out = yield* runPlan(
      cache,
      model,
      plan({ captures: [site], metric: { kind }, gradients: [{ _tag: "site", site }], logits: false }),
      [ex.ids],
      { metric: tiledBinding(ex, 1) },
    );
    const metric = out.metric!.perExample[0]!;
    const grad = out.grads.get(gradLabel({ _tag: "site", site }))!.data;
    checkFinite([metric], `${field}.metric`, "metric value");
    checkFinite(grad, `${field}.gradient`, "gradient");
    return { metric, x: out.sites.get(site)!.data, grad };
  });

/**
 * ‖g_p‖₂ per token: g [P, d] → [P].
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { gradientNorms } from "@patchbay/readouts";
 *
 * assert.deepEqual(gradientNorms(Float32Array.of(3, 4, 0, 0), 2, 2), [5, 0]);
 * ```
 */
export const gradientNorms = (g: Float32Array, P: number, d: number): number[] =>
  Array.from({ length: P }, (_, p) => {
    let s = 0;
    for (let i = 0; i < d; i++) s += g[p * d + i]! ** 2;
    return Math.sqrt(s);
  });

/**
 * Σ_i x_{p,i}·g_{p,i} per token: x, g [P, d] → [P].
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { gradientTimesInput } from "@patchbay/readouts";
 *
 * assert.deepEqual(gradientTimesInput(Float32Array.of(1, 2, 3, 4), Float32Array.of(1, 1, 0, 1), 2, 2), [3, 4]);
 * ```
 */
export const gradientTimesInput = (x: Float32Array, g: Float32Array, P: number, d: number): number[] =>
  Array.from({ length: P }, (_, p) => {
    let s = 0;
    for (let i = 0; i < d; i++) s += x[p * d + i]! * g[p * d + i]!;
    return s;
  });

/** [P, d] → number[P][d]. */
export const rows = (v: ArrayLike<number>, P: number, d: number): number[][] =>
  Array.from({ length: P }, (_, p) => Array.from({ length: d }, (_, i) => v[p * d + i]!));
