import { Schema } from "effect";

/**
 * Patchscopes as data (Ghandeharioun et al. 2024; docs/methods.md#patchscopes). Positions are token indices;
 * negative ones count from the end (−1 = the last token), so one spec serves prompts of any length.
 */

/**
 * The mapping f from the source residual h [d_src] to the patched vector [d_tgt]:
 *   identity   f(h) = h                 (d_src = d_tgt)
 *   scale      f(h) = α h
 *   affine     f(h) = M h + c           M [rows = d_tgt, cols = d_src] row-major, c [d_tgt] (default 0):
 *                                        a tuned-lens translator (M = I + A), or a cross-model map
 */
export const Mapping = Schema.Union(
  Schema.TaggedStruct("identity", {}),
  Schema.TaggedStruct("scale", { factor: Schema.Number }),
  Schema.TaggedStruct("affine", {
    rows: Schema.Int.pipe(Schema.positive()),
    cols: Schema.Int.pipe(Schema.positive()),
    matrix: Schema.Array(Schema.Number),
    bias: Schema.optional(Schema.Array(Schema.Number)),
  }),
);
export type Mapping = typeof Mapping.Type;

export const SiteAt = Schema.Struct({
  /** A [batch, pos, d_model] site (resid_pre / resid_mid / resid_post, …), either spelling. */
  site: Schema.String,
  position: Schema.Int,
});
export type SiteAt = typeof SiteAt.Type;

export const PatchscopeSpec = Schema.Struct({
  /** Where h is read in the source prompt S: (layer ℓ as a site, position i). */
  source: SiteAt,
  /** Where f(h) is written in the target prompt T: (layer ℓ* as a site, position i*). */
  target: SiteAt,
  mapping: Schema.optionalWith(Mapping, { default: () => ({ _tag: "identity" as const }) }),
  /** Tokens generated greedily from the patched target (0: only score the readout). */
  generate: Schema.optionalWith(Schema.Int.pipe(Schema.nonNegative()), { default: () => 1 }),
  /**
   * The target position whose next-token distribution is scored (precision@1, surprisal);
   * default −1, the last token, whose argmax is the first generated token.
   */
  readout: Schema.optionalWith(Schema.Int, { default: () => -1 }),
});
export type PatchscopeSpec = typeof PatchscopeSpec.Type;

/** A sweep of one inspection prompt over source layers (ℓ* = ℓ unless a target site is fixed). */
export const SweepSpec = Schema.Struct({
  /** Source sites, in order; default: blocks.0.resid_pre and resid_post of every layer. */
  sites: Schema.optional(Schema.Array(Schema.String)),
  /** Patch every source layer into this target site instead of the same one. */
  targetSite: Schema.optional(Schema.String),
  /** The built-in inspection prompt (see prompts.ts) the sources are patched into. */
  prompt: Schema.optionalWith(Schema.String, { default: () => "token-identity" }),
  mapping: Schema.optionalWith(Mapping, { default: () => ({ _tag: "identity" as const }) }),
  generate: Schema.optionalWith(Schema.Int.pipe(Schema.nonNegative()), { default: () => 1 }),
});
export type SweepSpec = typeof SweepSpec.Type;

/**
 * Decode a patchscope spec (unknown input) with its defaults: `{ source, target, mapping, generate, readout }`, as an Effect failing with a ParseError.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Effect } from "effect";
 * import { decodePatchscopeSpec } from "@patchbay/readouts";
 *
 * const spec = await Effect.runPromise(
 *   decodePatchscopeSpec({ source: { site: "blocks.1.resid_pre", position: -1 }, target: { site: "blocks.0.resid_pre", position: -1 } }),
 * );
 * assert.deepEqual(spec.mapping, { _tag: "identity" });
 * assert.equal(spec.generate, 1);
 * ```
 */
export const decodePatchscopeSpec = Schema.decodeUnknown(PatchscopeSpec);
/**
 * Decode a patchscope sweep spec with its defaults: `{ sites?, targetSite?, prompt, mapping, generate }`, as an Effect failing with a ParseError.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Effect } from "effect";
 * import { decodeSweepSpec } from "@patchbay/readouts";
 *
 * const spec = await Effect.runPromise(decodeSweepSpec({}));
 * assert.equal(spec.prompt, "token-identity");
 * ```
 */
export const decodeSweepSpec = Schema.decodeUnknown(SweepSpec);
