import type { HostTensor } from "@patchbay/core/tensor";
import type { InputError, RuntimeError } from "@patchbay/core/errors";
import type { Model, ModelConfig } from "@patchbay/core/model";
import { type Plan, plan, runPlan } from "@patchbay/core/engine";
import type { SessionCache } from "@patchbay/core/runtime";
import type { Tokenizer } from "@patchbay/core/tokenizer";
import { Effect } from "effect";
import { finalSite } from "./sites.ts";

/** A model as the readouts take it; the tokenizer (when present) names tokens in results. */
export type LensModel = Model & { readonly tokenizer?: Tokenizer | null };

export interface Captured {
  /** [B, P, V] the model's own logits. */
  readonly final: HostTensor;
  /** [B, P, d_model] per requested site, in order. */
  readonly sites: readonly HostTensor[];
  readonly lengths: readonly number[];
  /** P, the padded length. */
  readonly pos: number;
}

/**
 * One engine run: the final logits and the residual stream at every lens site.
 *
 * Returns `{ final, sites, lengths, pos }`: the final logits [B, P, V] and one residual [B, P, d_model] per site.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSessionCache } from "@patchbay/core/runtime";
 * import { inductionModel, inductionTask } from "@patchbay/zoo";
 * import { Effect } from "effect";
 * import { captureResidual } from "@patchbay/readouts";
 * const model = inductionModel(); // the compiled 2-layer induction model
 * const prompts = inductionTask(0, 2, { blockLen: 4 }).clean;
 * const r = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.flatMap(makeSessionCache("doc", { threads: 1 }), (cache) =>
 *       captureResidual(cache, model, ["blocks.1.resid_pre"], prompts),
 *     ),
 *   ),
 * );
 * assert.equal(r.sites.length, 1);
 * assert.deepEqual(r.sites[0]!.shape, [2, prompts[0]!.length, model.config.dModel]);
 * ```
 */
export const captureResidual = (
  cache: SessionCache,
  model: LensModel,
  sites: readonly string[],
  prompts: readonly (readonly number[])[],
): Effect.Effect<Captured, InputError | RuntimeError> =>
  Effect.gen(function* () {
    const r = yield* runPlan(cache, model, plan({ captures: [...sites] }), prompts);
    return {
      final: r.logits!,
      sites: sites.map((s) => r.sites.get(s)!),
      lengths: r.lengths,
      pos: Math.max(...r.lengths),
    };
  });

/**
 * The plan that decodes a residual vector through the model's own head: replace the residual the
 * final norm reads (resid_post of the last block) at every position with h. Since ln_final and
 * the unembedding act per position, the logits are exactly
 *   logits[b, p] = W_U · LN_f(h[b, p]) (+ b_U)
 * with the model's norm kind, weights and eps, whatever ran upstream.
 *
 * Returns the engine Plan.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { inductionModel } from "@patchbay/zoo";
 * import { decodePlan } from "@patchbay/readouts";
 *
 * const plan = decodePlan(inductionModel().config);
 * assert.equal(plan.interventions[0]!.target.site, "blocks.1.resid_post");
 * ```
 */
export const decodePlan = (c: ModelConfig): Plan =>
  plan({ interventions: [{ _tag: "replace", target: { site: finalSite(c) } }] });

/**
 * logits [B, P, V] = W_U · LN_f(h) for h [B, P, d_model] (through the engine).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSessionCache } from "@patchbay/core/runtime";
 * import { inductionModel, inductionTask } from "@patchbay/zoo";
 * import { Effect } from "effect";
 * import { captureResidual, decodeResidual } from "@patchbay/readouts";
 * const model = inductionModel(); // the compiled 2-layer induction model
 * const prompts = inductionTask(0, 2, { blockLen: 4 }).clean;
 * const r = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.flatMap(makeSessionCache("doc", { threads: 1 }), (cache) =>
 *       Effect.gen(function* () {
 *         const c = yield* captureResidual(cache, model, ["blocks.1.resid_post"], prompts);
 *         return { final: c.final, decoded: yield* decodeResidual(cache, model, c.sites[0]!, prompts) };
 *       }),
 *     ),
 *   ),
 * );
 * // decoding the final residual gives back the model's own logits
 * assert.ok(r.decoded.data.every((x, i) => Math.abs(x - r.final.data[i]!) < 1e-3));
 * ```
 */
export const decodeResidual = (
  cache: SessionCache,
  model: LensModel,
  h: HostTensor,
  prompts: readonly (readonly number[])[],
): Effect.Effect<HostTensor, InputError | RuntimeError> =>
  Effect.map(
    runPlan(cache, model, decodePlan(model.config), prompts, { interventions: [{ value: h }] }),
    (r) => r.logits!,
  );
