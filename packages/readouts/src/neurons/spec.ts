import { InputError } from "@patchbay/core/errors";
import { Schema } from "effect";
import { asIssue } from "../options.ts";

/**
 * Specs of neuron explanation (docs/methods.md#neuron-explanations; OpenAI 2023, explain → simulate →
 * score), as effect Schemas: JSON in, defaults filled by decoding.
 */

const PosInt = Schema.Int.pipe(Schema.positive());
const NonNegInt = Schema.Int.pipe(Schema.nonNegative());

/**
 * Which neuron, and how its records are collected from a dataset of prompts.
 *
 * A neuron is index `index` of the flattened trailing axes of `site` at each (example, position):
 * for `blocks.l.mlp.post` [batch, pos, d_mlp] it is neuron j of layer l; any site whose first two
 * axes are [batch, pos] works (attn.z [batch, pos, head, d_head] flattens head·d_head + i).
 *
 * Windows: a record is a window of at most `window` consecutive tokens of one prompt. For the top
 * records the window holds the prompt's maximum p* (first position on ties) at offset `before`
 * when the prompt allows it: start s = clamp(p* − before, 0, max(0, len − window)), so windows
 * never run off either end (a prompt shorter than the window is shown whole). `before` defaults
 * to window − 1 − ⌊window/4⌋: a causal neuron's context is mostly to the left of its maximum.
 */
const recordsFields = {
  site: Schema.String,
  index: NonNegInt,
  /** neuron_id.layer_index; default: the site's layer (−1 for sites outside the blocks). */
  layerIndex: Schema.optional(Schema.Int),
  /** How many top-activating records (one per prompt, ranked by the prompt's maximum). */
  topK: Schema.optionalWith(PosInt, { default: () => 20 }),
  /** How many random records (prompts drawn without replacement, window start uniform). */
  randomK: Schema.optionalWith(NonNegInt, { default: () => 20 }),
  window: Schema.optionalWith(PosInt, { default: () => 16 }),
  before: Schema.optional(NonNegInt),
  /** Quantile bins of the per-prompt maximum for random_sample_by_quantile (0 = none). */
  quantiles: Schema.optionalWith(NonNegInt, { default: () => 5 }),
  perQuantile: Schema.optionalWith(NonNegInt, { default: () => 5 }),
  /** Prompts per engine run (captures in chunks: memory is one chunk's [chunk, pos, …]). */
  chunkSize: Schema.optionalWith(PosInt, { default: () => 32 }),
  seed: Schema.optionalWith(Schema.Int, { default: () => 0 }),
};
const RECORDS_DEFAULTS = Schema.decodeSync(Schema.Struct(recordsFields))({ site: "", index: 0 });

/**
 * Whether the records' seed draws anything: random records, or records per quantile bin.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { recordsDraw } from "@patchbay/readouts";
 *
 * assert.equal(recordsDraw({ randomK: 0, quantiles: 0, perQuantile: 5 }), false); // top records are ranked, not drawn
 * assert.equal(recordsDraw({ randomK: 20, quantiles: 0, perQuantile: 5 }), true);
 * ```
 */
export const recordsDraw = (s: {
  readonly randomK: number;
  readonly quantiles: number;
  readonly perQuantile: number;
}): boolean => s.randomK > 0 || (s.quantiles > 0 && s.perQuantile > 0);

/**
 * perQuantile without quantile bins; a seed when nothing is drawn; a `before` that puts the
 * maximum outside its window (the window holds positions start … start + window − 1).
 *
 * Returns an InputError, or null.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { recordsProblem } from "@patchbay/readouts";
 *
 * const s = { randomK: 20, quantiles: 5, perQuantile: 5, seed: 0, window: 16 };
 * assert.equal(recordsProblem(s), null);
 * assert.equal(recordsProblem({ ...s, before: 16 })?.field, "before"); // outside its window
 * ```
 */
export const recordsProblem = (s: {
  readonly randomK: number;
  readonly quantiles: number;
  readonly perQuantile: number;
  readonly seed: number;
  readonly window: number;
  readonly before?: number | undefined;
}): InputError | null => {
  if (s.quantiles === 0 && s.perQuantile !== RECORDS_DEFAULTS.perQuantile)
    return new InputError({
      field: "perQuantile",
      expected: "no perQuantile unless quantiles > 0 (records drawn per quantile bin)",
      found: String(s.perQuantile),
    });
  if (!recordsDraw(s) && s.seed !== RECORDS_DEFAULTS.seed)
    return new InputError({
      field: "seed",
      expected:
        "no seed unless records are drawn (randomK > 0, or quantiles and perQuantile > 0); the top records are ranked, not drawn",
      found: String(s.seed),
    });
  if (s.before !== undefined && s.before >= s.window)
    return new InputError({
      field: "before",
      expected: `an offset below the window (${s.window}), so the maximum is inside its record`,
      found: String(s.before),
    });
  return null;
};

export const RecordsSpec = Schema.Struct(recordsFields).pipe(
  Schema.filter((s) => asIssue(recordsProblem(s))),
);
export type RecordsSpec = typeof RecordsSpec.Type;

/**
 * Scoring an explanation (or generating one, then scoring it). Activations shown to models are
 * normalised to integers 0–10 by the maximum over the top records (prompts.ts).
 */
const scoreFields = {
  /** Records shown to the explainer: the first `explainTop` top records. */
  explainTop: Schema.optionalWith(PosInt, { default: () => 10 }),
  /**
   * Which top records are scored: "rest" (those not shown to the explainer, falling back to all
   * when none are left) or "all". Random records are always all scored.
   */
  scoreTop: Schema.optionalWith(Schema.Literal("rest", "all"), { default: () => "rest" as const }),
  /** Use this explanation instead of asking the explainer (scoring a given hypothesis). */
  explanation: Schema.optional(Schema.String),
};

const SCORE_DEFAULTS = Schema.decodeSync(Schema.Struct(scoreFields))({});

/**
 * explainTop decides what the explainer sees and, with scoreTop "rest", what is scored: with a
 * given explanation and scoreTop "all" it decides nothing.
 *
 * Returns an InputError, or null.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { scoreProblem } from "@patchbay/readouts";
 *
 * assert.equal(scoreProblem({ explainTop: 10, scoreTop: "rest" }), null);
 * assert.equal(scoreProblem({ explainTop: 3, scoreTop: "all", explanation: "the token \"x\"" })?.field, "explainTop");
 * ```
 */
export const scoreProblem = (s: {
  readonly explainTop: number;
  readonly scoreTop: string;
  readonly explanation?: string | undefined;
}): InputError | null =>
  s.explanation !== undefined && s.scoreTop === "all" && s.explainTop !== SCORE_DEFAULTS.explainTop
    ? new InputError({
        field: "explainTop",
        expected:
          'no explainTop with a given explanation and scoreTop "all" (no explainer sees records, every top record is scored)',
        found: String(s.explainTop),
      })
    : null;

export const ScoreSpec = Schema.Struct(scoreFields).pipe(Schema.filter((s) => asIssue(scoreProblem(s))));
export type ScoreSpec = typeof ScoreSpec.Type;

/** The local model run by patchbay as explainer and simulator (local-lm.ts). */
export const LocalLmSpec = Schema.Struct({
  /** Greedy tokens generated for an explanation. */
  maxTokens: Schema.optionalWith(PosInt, { default: () => 24 }),
  /** Stop generating at the first newline of the explanation. */
  stopAtNewline: Schema.optionalWith(Schema.Boolean, { default: () => true }),
  /** Records per simulation run through the engine. */
  batch: Schema.optionalWith(PosInt, { default: () => 8 }),
});
export type LocalLmSpec = typeof LocalLmSpec.Type;

/**
 * An OpenAI-compatible chat/completions endpoint (http.ts). Only the endpoint: which hosts may be
 * called and the API key are the user's (access.ts), never part of a spec a file can carry.
 */
export const HttpModelSpec = Schema.Struct({
  /** Base URL; requests go to `${baseUrl}/chat/completions`. */
  baseUrl: Schema.String,
  model: Schema.String,
  timeoutMs: Schema.optionalWith(PosInt, { default: () => 60_000 }),
  maxTokens: Schema.optionalWith(PosInt, { default: () => 512 }),
  temperature: Schema.optionalWith(Schema.Number, { default: () => 0 }),
  /** Ask for logprobs (top 15, as the paper) and take expected values from them when returned. */
  logprobs: Schema.optionalWith(Schema.Boolean, { default: () => true }),
});
export type HttpModelSpec = typeof HttpModelSpec.Type;

/** Records and scoring together (pipeline.ts explainNeuron). */
export const NeuronExplanationSpec = Schema.Struct({
  records: RecordsSpec,
  score: Schema.optionalWith(ScoreSpec, { default: () => ({ explainTop: 10, scoreTop: "rest" as const }) }),
});
export type NeuronExplanationSpec = typeof NeuronExplanationSpec.Type;
