import type { InputError, RuntimeError } from "@patchbay/core/errors";
import { makeSessionCache, type SessionCache } from "@patchbay/core/runtime";
import { type Model, randomWeights } from "@patchbay/core/model";
import { Effect } from "effect";
import type { VariableAlignment } from "../alignment/schema.ts";
import { type DasOptions, type DasResult, das, rotationValues } from "../das/train.ts";
import { randomRotation } from "../das/rotation/index.ts";
import { iia } from "../iia/iia.ts";
import type { CounterfactualExample } from "../model/counterfactuals.ts";
import type { CausalError } from "../model/errors.ts";
import type { CausalTask } from "../task/task.ts";

/**
 * DAS with the controls for interpretability illusions (Makelov et al. 2024; docs/methods.md#das-controls),
 * reported together so a subspace result is never read alone:
 *   randomModel     the same search on a randomly initialised copy of the network (same config,
 *                   seeded weights): a high IIA there means the search, not the model, did it
 *   randomRotation  IIA of a Haar-random R of the same rank at the same site (no training)
 *   fullComponent   IIA of interchanging the whole vector at the site and positions: a subspace
 *                   that beats the full component may be switching on a dormant path
 *   heldOut         IIA of the learned R on counterfactual families it was not trained on
 */
export interface DasData {
  readonly train: readonly CounterfactualExample[];
  /** same family as train, unseen pairs */
  readonly test: readonly CounterfactualExample[];
  /** other families, by name */
  readonly heldOut?: Readonly<Record<string, readonly CounterfactualExample[]>>;
}

export interface DasReport {
  readonly das: DasResult;
  /** IIA of the learned rotation on train and test */
  readonly iia: { readonly train: number; readonly test: number };
  readonly controls: {
    readonly randomModel: { readonly train: number; readonly test: number; readonly seed: number };
    readonly randomRotation: number;
    readonly fullComponent: number;
    readonly heldOut: Readonly<Record<string, number>>;
  };
}

/**
 * DAS together with its illusion controls (random model, random rotation, full component, held-out families). Returns a DasReport `{ das, iia: { train, test }, controls }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { counterfactuals, dasWithControls, linearToy } from "@patchbay/causal";
 * import { makeSessionCache } from "@patchbay/core/runtime";
 * import { Effect } from "effect";
 *
 * const toy = linearToy(); // X and Y written on planted planes of a 12-wide residual stream
 * const train = counterfactuals(toy.task.model, toy.task.families[0]!, { n: 64, seed: 1 });
 * const entry = { variable: "X", site: "blocks.0.resid_post", positions: ["last" as const], subspace: { rank: 2 } };
 * const test = counterfactuals(toy.task.model, toy.task.families[0]!, { n: 32, seed: 2 });
 * const r = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.flatMap(makeSessionCache("doc", { threads: 1 }), (cache) =>
 *       dasWithControls(cache, toy.model, toy.task, entry, { train, test }, { rank: 2, steps: 60, lr: 0.05, batchSize: 32 }),
 *     ),
 *   ),
 * );
 * assert.ok(r.iia.test >= 0.9);
 * assert.ok(r.controls.randomRotation < r.iia.test); // a random plane does not hold X
 * ```
 */
export const dasWithControls = (
  cache: SessionCache,
  model: Model,
  task: CausalTask,
  entry: VariableAlignment,
  data: DasData,
  opts: DasOptions & { readonly controlSeed?: number } = {},
): Effect.Effect<DasReport, CausalError | InputError | RuntimeError> =>
  Effect.gen(function* () {
    const fit = yield* das(cache, model, task, entry, data.train, opts);
    const k = fit.learned.rank;
    const aligned: VariableAlignment = { ...entry, subspace: { rank: k } };
    const rotations = { [entry.variable]: rotationValues(fit.learned) };
    const score = (m: Model, c: SessionCache, examples: readonly CounterfactualExample[], r = rotations) =>
      Effect.map(iia(c, m, task, [aligned], examples, { rotations: r }), (x) => x.accuracy);
    const train = yield* score(model, cache, data.train);
    const test = yield* score(model, cache, data.test);

    const seed = opts.controlSeed ?? (opts.seed ?? 0) + 1;
    // the random-init copy has its own weights, so its own sessions (released when done)
    const randomCopy: Model = { config: model.config, weights: randomWeights(model.config, seed) };
    const randomModel = yield* Effect.scoped(
      Effect.gen(function* () {
        const c = yield* makeSessionCache(`${model.config.name} (random init ${seed})`, cache.options);
        const f = yield* das(c, randomCopy, task, entry, data.train, opts);
        const r = { [entry.variable]: rotationValues(f.learned) };
        return {
          train: yield* score(randomCopy, c, data.train, r),
          test: yield* score(randomCopy, c, data.test, r),
          seed,
        };
      }),
    );
    const haar = randomRotation(fit.learned.size, k, seed);
    const randomRotationIia = yield* score(model, cache, data.test, {
      [entry.variable]: {
        rotation: { data: Float32Array.from(haar), shape: [k, fit.learned.size] },
        ...(fit.learned.mask !== null ? { mask: Float32Array.from(fit.learned.mask) } : {}),
      },
    });
    const fullComponent = (yield* iia(cache, model, task, [{ ...entry, subspace: "full" }], data.test))
      .accuracy;
    const heldOut: Record<string, number> = {};
    for (const [name, examples] of Object.entries(data.heldOut ?? {}))
      heldOut[name] = yield* score(model, cache, examples);
    return {
      das: fit,
      iia: { train, test },
      controls: { randomModel, randomRotation: randomRotationIia, fullComponent, heldOut },
    };
  });
