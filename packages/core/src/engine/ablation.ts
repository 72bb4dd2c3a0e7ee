import { Effect, Schema } from "effect";
import { attempt, InputError, type RuntimeError } from "../errors/index.ts";
import type { Model } from "../model/index.ts";
import { lookupSite, siteShape } from "../model/sites.ts";
import { forward, type SessionCache } from "../runtime/index.ts";
import { makeBatch } from "../runtime/batch.ts";
import type { InterventionValues } from "./bind.ts";
import { interchangePatch, meanPatch, resamplePatch, siteMean } from "./dataset.ts";
import { Target } from "./spec.ts";

/**
 * Ablations as data: what to put at a target instead of its clean value. Each resolves, for a
 * batch of clean sequences, to a `replace` (or `scale`) intervention plus its run-time values, so
 * the same compiled graph serves every ablation of a target.
 *   zero             x′ = 0 on the target                               (scale by 0)
 *   mean             the site's mean over a reference dataset (pooled over positions)
 *   mean-positional  the same mean kept per position
 *   resample         the site's value on corrupted example perm[b]        (same lengths)
 *   interchange      the site's value on source example b at source positions, placed at the
 *                    target's base positions (prompts may differ in length and layout)
 */
export const Ablation = Schema.Union(
  Schema.TaggedStruct("zero", { target: Target }),
  Schema.TaggedStruct("mean", { target: Target }),
  Schema.TaggedStruct("mean-positional", { target: Target }),
  Schema.TaggedStruct("resample", { target: Target }),
  Schema.TaggedStruct("interchange", {
    target: Target,
    /** Per example: the source positions whose values go to the target's positions, in order. */
    sourcePositions: Schema.Array(Schema.Array(Schema.Int)),
  }),
);
export type Ablation = typeof Ablation.Type;

/** The inputs an ablation draws on: a reference dataset (means) or the paired corrupted/source runs. */
export interface AblationData {
  readonly reference?: readonly (readonly number[])[];
  readonly corrupted?: readonly (readonly number[])[];
  /** resample: which corrupted example each clean example takes (default: the same index). */
  readonly perm?: readonly number[];
  readonly chunkSize?: number;
}

export interface ResolvedAblation {
  readonly intervention: { readonly _tag: "replace" | "scale"; readonly target: Target };
  readonly values: InterventionValues;
}

const need = <A>(x: A | undefined, field: string, what: string): A => {
  if (x === undefined) throw new InputError({ field, expected: what, found: "nothing" });
  return x;
};

/**
 * An ablation for a batch of clean sequences, as the `replace` (or `scale`) intervention and\nthe run-time values that carry it out: means and resampled values are computed here.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Engine, Runtime } from "@patchbay/core";
 * import "@patchbay/zoo";
 * import { Effect } from "effect";
 *
 * const resolved = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.gen(function* () {
 *       const model = yield* Runtime.openModel("builtin:induction");
 *       const ablation = { _tag: "mean" as const, target: { site: "blocks.0.attn_out" } };
 *       return yield* Engine.resolveAblation(model.sessions, model, ablation, [[0, 1, 2]], {
 *         reference: [[0, 3, 4], [0, 5, 6, 7]],
 *       });
 *     }),
 *   ),
 * );
 * assert.equal(resolved.intervention._tag, "replace");
 * assert.deepEqual(resolved.values.value?.shape, [1, 3, 136]); // the mean at every position
 * ```
 */
export const resolveAblation = (
  cache: SessionCache,
  model: Model,
  ablation: Ablation,
  clean: readonly (readonly number[])[],
  data: AblationData = {},
): Effect.Effect<ResolvedAblation, InputError | RuntimeError> =>
  Effect.gen(function* () {
    const c = model.config;
    const site = lookupSite(c, ablation.target.site);
    if (!site.ok) {
      return yield* new InputError({
        field: "ablation.target.site",
        expected: `a site; nearest: ${site.suggestions.join(", ")}`,
        found: ablation.target.site,
      });
    }
    const batch = yield* attempt(() => makeBatch(c, clean, "ids", cache.options), InputError);
    const replace = { _tag: "replace" as const, target: ablation.target };
    switch (ablation._tag) {
      case "zero":
        return { intervention: { _tag: "scale", target: ablation.target }, values: { factor: 0 } };
      case "mean":
      case "mean-positional": {
        const perPosition = ablation._tag === "mean-positional";
        const reference = yield* attempt(
          () => need(data.reference, "ablation data.reference", "a reference dataset for the mean"),
          InputError,
        );
        const mean = yield* siteMean(cache, model, site.site.name, reference, {
          perPosition,
          ...(data.chunkSize !== undefined ? { chunkSize: data.chunkSize } : {}),
        });
        const value = yield* attempt(() => meanPatch(mean, perPosition, batch.batch, batch.pos), InputError);
        return { intervention: replace, values: { value } };
      }
      case "resample":
      case "interchange": {
        const corrupted = yield* attempt(
          () =>
            need(
              data.corrupted,
              "ablation data.corrupted",
              "corrupted/source sequences paired with the clean ones",
            ),
          InputError,
        );
        if (corrupted.length !== clean.length) {
          return yield* new InputError({
            field: "ablation data.corrupted",
            expected: `${clean.length} sequences, paired by index`,
            found: `${corrupted.length}`,
          });
        }
        const src = yield* forward(cache, model, corrupted, [site.site.name]);
        const s = src.sites.get(site.site.name)!;
        if (ablation._tag === "resample") {
          const lengths = new Set([...batch.lengths, ...src.lengths]);
          if (lengths.size !== 1) {
            return yield* new InputError({
              field: "ablation data.corrupted",
              expected: "clean and corrupted sequences of one length (resample)",
              found: `lengths ${[...lengths].join(", ")}`,
            });
          }
          const perm = data.perm ?? clean.map((_, b) => b);
          return {
            intervention: replace,
            values: {
              value: yield* attempt(() => resamplePatch(s, perm), InputError),
            },
          };
        }
        const basePositions = ablation.target.positions;
        if (basePositions === undefined || basePositions === "all" || !Array.isArray(basePositions[0])) {
          return yield* new InputError({
            field: "ablation.target.positions",
            expected: "per-example base positions for an interchange",
            found: JSON.stringify(basePositions ?? "all"),
          });
        }
        const shape = siteShape(site.site, c, batch.batch, batch.pos);
        const value = yield* attempt(
          () =>
            interchangePatch(shape, s, basePositions as number[][], ablation.sourcePositions as number[][]),
          InputError,
        );
        return { intervention: replace, values: { value } };
      }
    }
  });
