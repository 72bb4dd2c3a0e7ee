import { Schema } from "effect";

/**
 * Alignments as data (docs/methods.md#alignments): each high-level variable maps to a network site, positions
 * located per example, and a subspace. Serialisable: the same value drives the API, experiment
 * files and cache keys.
 */

/**
 * A position in one prompt, located per example:
 *   "last"                          the last token
 *   {index: i}                      position i; negative counts from the end (−1 = last)
 *   {token: t, occurrence, offset}  the first (or last) occurrence of token id t, plus offset
 */
export const PositionSpec = Schema.Union(
  Schema.Literal("last"),
  Schema.Struct({ index: Schema.Int }),
  Schema.Struct({
    token: Schema.Int,
    occurrence: Schema.optionalWith(Schema.Literal("first", "last"), { default: () => "first" as const }),
    offset: Schema.optionalWith(Schema.Int, { default: () => 0 }),
  }),
).annotations({ identifier: "PositionSpec" });
export type PositionSpec = typeof PositionSpec.Type;

/**
 * Which part of the site's last axis carries the variable (as written in experiment files):
 *   "full"           the whole vector (a full-component interchange)
 *   {dims: [i, …]}   fixed coordinates
 *   {rank: k}        the first k directions of a learned rotation R [k, D] (DAS), bound at run
 *                    time (from a DAS run or a saved artifact)
 */
export const SubspaceSpec = Schema.Union(
  Schema.Literal("full"),
  Schema.Struct({ dims: Schema.NonEmptyArray(Schema.Int.pipe(Schema.nonNegative())) }),
  Schema.Struct({ rank: Schema.Int.pipe(Schema.positive()) }),
).annotations({ identifier: "SubspaceSpec" });
export type SubspaceSpec = typeof SubspaceSpec.Type;

export const VariableAlignment = Schema.Struct({
  variable: Schema.String,
  /** a site with [batch, pos, …] axes (patchbay or TransformerLens name) */
  site: Schema.String,
  /** heads of a site with a head axis (e.g. attn.z) */
  heads: Schema.optional(Schema.Array(Schema.Int)),
  positions: Schema.NonEmptyArray(PositionSpec),
  subspace: Schema.optionalWith(SubspaceSpec, { default: () => "full" as const }),
}).annotations({ identifier: "VariableAlignment" });
export type VariableAlignment = typeof VariableAlignment.Type;

/** One entry per aligned high-level variable (a multi-variable alignment has several). */
export const Alignment = Schema.Array(VariableAlignment).annotations({ identifier: "Alignment" });
export type Alignment = typeof Alignment.Type;

/**
 * Whether a subspace spec names coordinates (`{ dims }`), as opposed to "full" or a learned rotation (`{ rank }`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isDims } from "@patchbay/causal";
 *
 * assert.equal(isDims({ dims: [0, 1] }), true);
 * assert.equal(isDims("full"), false);
 * ```
 */
export const isDims = (s: SubspaceSpec): s is { readonly dims: readonly [number, ...number[]] } =>
  typeof s === "object" && "dims" in s;
/**
 * Whether a subspace spec is a learned rotation of some rank (`{ rank }`, DAS).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isRotation } from "@patchbay/causal";
 *
 * assert.equal(isRotation({ rank: 2 }), true);
 * assert.equal(isRotation({ dims: [0] }), false);
 * ```
 */
export const isRotation = (s: SubspaceSpec): s is { readonly rank: number } =>
  typeof s === "object" && "rank" in s;
