import { InputError, type RuntimeError } from "@patchbay/core/errors";
import type { Model } from "@patchbay/core/model";
import type { SessionCache } from "@patchbay/core/runtime";
import { Effect } from "effect";
import { captureFeatures } from "../probing/dataset.ts";

/**
 * Per prompt, the positions averaged: given lists, or every position, or the last one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveMeanPositions } from "@patchbay/readouts";
 *
 * const prompts = [[0, 1, 2], [0, 1]];
 * assert.deepEqual(resolveMeanPositions(prompts, undefined, "last"), [[2], [1]]);
 * assert.deepEqual(resolveMeanPositions(prompts, undefined, "all"), [[0, 1, 2], [0, 1]]);
 * ```
 */
export const resolveMeanPositions = (
  prompts: readonly (readonly number[])[],
  given: readonly (readonly number[])[] | undefined,
  mode: "all" | "last",
): number[][] =>
  given !== undefined
    ? given.map((ps) => [...ps])
    : prompts.map((s) => (mode === "last" ? [s.length - 1] : Array.from({ length: s.length }, (_, i) => i)));

/**
 * μ [d] = the mean of site[b, p, :] over the listed (b, p), captured through the engine.
 * The site must be [batch, pos, d] (one vector per position), since v is added as a [d] vector.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSessionCache } from "@patchbay/core/runtime";
 * import { inductionModel, inductionTask } from "@patchbay/zoo";
 * import { Effect } from "effect";
 * import { meanActivation } from "@patchbay/readouts";
 * const model = inductionModel(); // the compiled 2-layer induction model
 * const prompts = inductionTask(0, 2, { blockLen: 4 }).clean;
 * const r = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.flatMap(makeSessionCache("doc", { threads: 1 }), (cache) =>
 *       meanActivation(cache, model, "blocks.0.resid_pre", prompts, prompts.map(() => [0])),
 *     ),
 *   ),
 * );
 * assert.equal(r.length, model.config.dModel); // μ [d]: here the BOS embedding
 * ```
 */
export const meanActivation = (
  cache: SessionCache,
  model: Model,
  site: string,
  prompts: readonly (readonly number[])[],
  positions: readonly (readonly number[])[],
  chunkSize = 32,
  field = "prompts",
): Effect.Effect<Float64Array, InputError | RuntimeError> =>
  Effect.gen(function* () {
    if (prompts.length === 0)
      return yield* new InputError({ field, expected: "at least one prompt", found: "none" });
    if (positions.length !== prompts.length)
      return yield* new InputError({
        field: `${field} positions`,
        expected: `one list per prompt (${prompts.length})`,
        found: `${positions.length}`,
      });
    for (const [b, ps] of positions.entries())
      for (const [j, p] of ps.entries())
        if (!Number.isInteger(p) || p < 0 || p >= prompts[b]!.length)
          return yield* new InputError({
            field: `${field} positions[${b}][${j}]`,
            expected: `a position in [0, ${prompts[b]!.length})`,
            found: String(p),
          });
    const f = (yield* captureFeatures(cache, model, [site], { prompts, positions }, { chunkSize })).get(
      site,
    )!;
    const n = f.group.length;
    if (n === 0)
      return yield* new InputError({
        field: `${field} positions`,
        expected: "at least one position",
        found: "none",
      });
    const mu = new Float64Array(f.dim);
    for (let i = 0; i < n; i++) for (let k = 0; k < f.dim; k++) mu[k]! += f.X[i * f.dim + k]!;
    for (let k = 0; k < f.dim; k++) mu[k]! /= n;
    return mu;
  });

/**
 * v = μ(positive) − μ(negative) [d]: the difference-of-means steering vector.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSessionCache } from "@patchbay/core/runtime";
 * import { inductionModel } from "@patchbay/zoo";
 * import { Effect, Schema } from "effect";
 * import { diffOfMeans, inductionSteeringData } from "@patchbay/readouts";
 * const model = inductionModel();
 * const data = inductionSteeringData(5, 6, [10, 11, 12, 13]); // steer toward token 5, away from 6
 * const pos = { prompts: data.positive, positions: data.positive.map((p) => [p.length - 1]) };
 * const neg = { prompts: data.negative, positions: data.negative.map((p) => [p.length - 1]) };
 * const r = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.flatMap(makeSessionCache("doc", { threads: 1 }), (cache) =>
 *       diffOfMeans(cache, model, "blocks.1.resid_post", pos, neg),
 *     ),
 *   ),
 * );
 * assert.equal(r.length, model.config.dModel);
 * assert.ok(r.some((x) => x !== 0));
 * ```
 */
export const diffOfMeans = (
  cache: SessionCache,
  model: Model,
  site: string,
  positive: {
    readonly prompts: readonly (readonly number[])[];
    readonly positions: readonly (readonly number[])[];
  },
  negative: {
    readonly prompts: readonly (readonly number[])[];
    readonly positions: readonly (readonly number[])[];
  },
  chunkSize = 32,
): Effect.Effect<Float64Array, InputError | RuntimeError> =>
  Effect.gen(function* () {
    const a = yield* meanActivation(
      cache,
      model,
      site,
      positive.prompts,
      positive.positions,
      chunkSize,
      "positive",
    );
    const b = yield* meanActivation(
      cache,
      model,
      site,
      negative.prompts,
      negative.positions,
      chunkSize,
      "negative",
    );
    return a.map((x, k) => x - b[k]!);
  });
