import { attempt, InputError, type RuntimeError } from "@patchbay/core/errors";
import { type Model, mulberry32 } from "@patchbay/core/model";
import type { SessionCache } from "@patchbay/core/runtime";
import { Effect, Either, ParseResult, Schema } from "effect";
import { type SaeArtifact, saeToArtifact } from "./artifact.ts";
import { captureActivations, saeSite } from "./capture.ts";
import { evaluateSae, type SaeEval } from "./metrics.ts";
import { type SpliceResult, spliceSae } from "./splice.ts";
import { SaeSpec } from "./spec.ts";
import { type TrainLogPoint, trainSae } from "./train.ts";

export interface SaeData {
  /** Token sequences; each is a prompt whose positions become SAE tokens. */
  readonly prompts: readonly (readonly number[])[];
}

export interface SaeResult {
  readonly site: string;
  readonly arch: string;
  readonly d: number;
  readonly dictSize: number;
  readonly l1: number;
  readonly decoderNorm: string;
  readonly inputScale: number;
  /** Prompt indices of the seeded split. */
  readonly split: { readonly train: number[]; readonly eval: number[] };
  readonly tokens: { readonly train: number; readonly eval: number };
  readonly history: TrainLogPoint[];
  readonly train: SaeEval;
  /** On the held-out prompts (on the training prompts when evalFraction is 0). */
  readonly eval: SaeEval;
  readonly splice: SpliceResult | null;
  /** The trained SAE (saeFromArtifact reads it back). */
  readonly sae: SaeArtifact;
}

/**
 * Decode a spec from JSON (defaults filled); bad input → InputError naming the field.
 *
 * Returns an Either: the SaeSpec, or an InputError.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Either } from "effect";
 * import { decodeSaeSpec } from "@patchbay/readouts";
 *
 * const r = decodeSaeSpec({ site: "blocks.1.resid_pre", train: { dictSize: 64 } });
 * assert.ok(Either.isRight(r) && r.right.positions === "all");
 * assert.ok(Either.isLeft(decodeSaeSpec({ site: "blocks.1.resid_pre" }))); // train.dictSize is required
 * ```
 */
export const decodeSaeSpec = (u: unknown): Either.Either<SaeSpec, InputError> =>
  Either.mapLeft(Schema.decodeUnknownEither(SaeSpec)(u, { errors: "first" }), (e) => {
    const issue = ParseResult.ArrayFormatter.formatErrorSync(e)[0];
    return new InputError({
      field: issue !== undefined && issue.path.length > 0 ? issue.path.join(".") : "spec",
      expected: "an SAE spec (see SaeSpec)",
      found: issue?.message ?? "an invalid value",
    });
  });

/**
 * Seeded split of prompt indices: a mulberry32 shuffle, the first ⌈frac·N⌉ held out (at least one train).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { splitPrompts } from "@patchbay/readouts";
 *
 * const { train, eval: held } = splitPrompts(8, 0.25, 0);
 * assert.equal(held.length, 2);
 * assert.equal(train.length + held.length, 8);
 * ```
 */
export const splitPrompts = (n: number, frac: number, seed: number): { train: number[]; eval: number[] } => {
  const order = Array.from({ length: n }, (_, i) => i);
  const rng = mulberry32(seed ^ 0x0e7a1);
  for (let k = n - 1; k > 0; k--) {
    const j = Math.floor(rng() * (k + 1));
    [order[k], order[j]] = [order[j]!, order[k]!];
  }
  const nEval = frac > 0 ? Math.min(n - 1, Math.max(1, Math.ceil(frac * n))) : 0;
  return {
    eval: order.slice(0, nEval).sort((a, b) => a - b),
    train: order.slice(nEval).sort((a, b) => a - b),
  };
};

/**
 * The SAE method end to end: capture the site over the training prompts (engine, in chunks),
 * train on host, evaluate reconstruction and sparsity on held-out prompts, splice into the model
 * and report next-token CE clean / spliced / zero-ablated with CE loss recovered.
 *
 * Returns a SaeResult `{ site, arch, d, dictSize, l1, decoderNorm, inputScale, … }` with the training log, held-out metrics and the splice.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSessionCache } from "@patchbay/core/runtime";
 * import { inductionModel, inductionTask } from "@patchbay/zoo";
 * import { Effect, Either } from "effect";
 * import { decodeSaeSpec, runSae } from "@patchbay/readouts";
 * const model = inductionModel();
 * const prompts = inductionTask(0, 8, { blockLen: 4 }).clean;
 * const spec = Either.getOrThrow(decodeSaeSpec({ site: "blocks.1.resid_pre", train: { dictSize: 8, steps: 20, batchSize: 16 } }));
 * const r = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.flatMap(makeSessionCache("doc", { threads: 1 }), (cache) =>
 *       runSae(cache, model, spec, { prompts }),
 *     ),
 *   ),
 * );
 * assert.equal(r.dictSize, 8);
 * assert.equal(r.d, model.config.dModel);
 * ```
 */
export const runSae = (
  cache: SessionCache,
  model: Model,
  spec: SaeSpec,
  data: SaeData,
): Effect.Effect<SaeResult, InputError | RuntimeError> =>
  Effect.gen(function* () {
    const { name, d } = yield* attempt(() => saeSite(model.config, spec.site), InputError);
    if (data.prompts.length === 0)
      return yield* new InputError({ field: "data.prompts", expected: "at least one prompt", found: "none" });
    if (spec.positions !== "all" && spec.positions.length > 0 && Array.isArray(spec.positions[0]))
      return yield* new InputError({
        field: "positions",
        expected: '"all" or one position list for every prompt (prompts are split into train and eval)',
        found: "a list per prompt",
      });
    const split = splitPrompts(data.prompts.length, spec.evalFraction, spec.train.seed);
    const pick = (idx: readonly number[]) => idx.map((i) => data.prompts[i]!);
    const trainPrompts = pick(split.train);
    const evalPrompts = split.eval.length > 0 ? pick(split.eval) : trainPrompts;
    const tr = yield* captureActivations(cache, model, name, spec.positions, trainPrompts, spec.chunkSize);
    const ev =
      split.eval.length > 0
        ? yield* captureActivations(cache, model, name, spec.positions, evalPrompts, spec.chunkSize)
        : tr;
    const { sae, history } = yield* attempt(() => trainSae(name, tr.data, tr.n, d, spec.train), InputError);
    const trainEval = yield* attempt(() => evaluateSae(sae, tr.data, tr.n), InputError);
    const evalEval = yield* attempt(() => evaluateSae(sae, ev.data, ev.n), InputError);
    const splice = spec.splice
      ? yield* spliceSae(cache, model, sae, spec.positions, evalPrompts, spec.chunkSize)
      : null;
    return {
      site: name,
      arch: sae.arch,
      d,
      dictSize: sae.m,
      l1: spec.train.l1,
      decoderNorm: sae.decoderNorm,
      inputScale: sae.inputScale,
      split,
      tokens: { train: tr.n, eval: ev.n },
      history,
      train: trainEval,
      eval: evalEval,
      splice,
      sae: saeToArtifact(sae),
    };
  });
