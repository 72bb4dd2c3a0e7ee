import { InputError } from "@patchbay/core/errors";
import { Schema } from "effect";
import { asIssue, sameOption } from "../options.ts";

/**
 * Lens specs as data (defaults filled by decoding). Sites are residual-stream sites in either
 * spelling (patchbay `blocks.3.resid_post` or TransformerLens `blocks.3.hook_resid_post`); when
 * omitted, the embedding (`blocks.0.resid_pre`) and `resid_post` of every layer, in order.
 */
const Sites = Schema.optional(Schema.Array(Schema.String));

export const LensEvalSpec = Schema.Struct({
  sites: Sites,
  /** k of the layer × position table of top tokens. */
  topK: Schema.optionalWith(Schema.Int.pipe(Schema.positive()), { default: () => 5 }),
  /** Which prompt (index into data.prompts) the top-token table shows. */
  tablePrompt: Schema.optionalWith(Schema.Int.pipe(Schema.nonNegative()), { default: () => 0 }),
});
export type LensEvalSpec = typeof LensEvalSpec.Type;

const tunedLensTrainFields = {
  sites: Sites,
  /** Adam steps; each step sees one minibatch of prompts for every layer at once. */
  steps: Schema.optionalWith(Schema.Int.pipe(Schema.nonNegative()), { default: () => 100 }),
  lr: Schema.optionalWith(Schema.Number.pipe(Schema.positive()), { default: () => 1e-3 }),
  /** Prompts per minibatch (clipped to the dataset size). */
  batchSize: Schema.optionalWith(Schema.Int.pipe(Schema.positive()), { default: () => 8 }),
  /** Decoupled weight decay on A_l (AdamW); 0 = plain Adam. */
  weightDecay: Schema.optionalWith(Schema.Number.pipe(Schema.nonNegative()), { default: () => 0 }),
  /** Seeds the minibatch order (mulberry32). */
  seed: Schema.optionalWith(Schema.Int, { default: () => 0 }),
};
const TUNED_DEFAULTS = Schema.decodeSync(Schema.Struct(tunedLensTrainFields))({});

/**
 * With steps 0 no translator is trained (the tuned lens is the logit lens): lr, batchSize,
 * weightDecay and the minibatch seed are then read by nothing. `seedSplits`: the caller also
 * splits the prompts with the seed (an experiment's held-out fraction), so the seed is read.
 *
 * Returns an InputError naming the option, or null.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tunedLensProblem } from "@patchbay/readouts";
 *
 * const defaults = { lr: 1e-3, batchSize: 8, weightDecay: 0, seed: 0 };
 * assert.equal(tunedLensProblem({ ...defaults, steps: 10, lr: 0.1 }), null);
 * assert.equal(tunedLensProblem({ ...defaults, steps: 0, lr: 0.1 })?.field, "lr"); // nothing is trained
 * ```
 */
export const tunedLensProblem = (
  s: {
    readonly steps: number;
    readonly lr: number;
    readonly batchSize: number;
    readonly weightDecay: number;
    readonly seed: number;
  },
  seedSplits = false,
): InputError | null => {
  if (s.steps > 0) return null;
  for (const field of ["lr", "batchSize", "weightDecay", "seed"] as const) {
    if (sameOption(s[field], TUNED_DEFAULTS[field]) || (field === "seed" && seedSplits)) continue;
    return new InputError({
      field,
      expected: `no ${field} with steps 0 (nothing is trained: the ${field === "seed" ? "seed orders the minibatches" : `${field} is the optimizer's`})`,
      found: String(s[field]),
    });
  }
  return null;
};

export const TunedLensTrainSpec = Schema.Struct(tunedLensTrainFields).pipe(
  Schema.filter((s) => asIssue(tunedLensProblem(s))),
);
export type TunedLensTrainSpec = typeof TunedLensTrainSpec.Type;

/**
 * Decode a lens evaluation spec (unknown input, e.g. parsed YAML) with its defaults: `{ sites?, topK, tablePrompt }`, as an Effect failing with a ParseError.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Effect } from "effect";
 * import { decodeLensEvalSpec } from "@patchbay/readouts";
 *
 * const spec = await Effect.runPromise(decodeLensEvalSpec({ topK: 3 }));
 * assert.equal(spec.topK, 3);
 * ```
 */
export const decodeLensEvalSpec = Schema.decodeUnknown(LensEvalSpec);
/**
 * Decode a tuned-lens training spec with its defaults: `{ sites?, steps, lr, batchSize, weightDecay, seed }`, as an Effect failing with a ParseError.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Effect } from "effect";
 * import { decodeTunedLensTrainSpec } from "@patchbay/readouts";
 *
 * const spec = await Effect.runPromise(decodeTunedLensTrainSpec({ steps: 10 }));
 * assert.equal(spec.steps, 10);
 * assert.equal(spec.batchSize, 8); // the default
 * ```
 */
export const decodeTunedLensTrainSpec = Schema.decodeUnknown(TunedLensTrainSpec);
