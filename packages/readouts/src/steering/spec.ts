import { InputError } from "@patchbay/core/errors";
import { Positions } from "@patchbay/core/engine";
import { Schema } from "effect";
import { ProbeSpec } from "../probing/spec.ts";

const Ids = Schema.Array(Schema.Array(Schema.Int));

/**
 * Difference-of-means steering as data: v = mean(site | positive) − mean(site | negative), then
 * the target prompts run with x′ = x + α·v at `positions` for every α of the sweep.
 */
export const SteeringSpec = Schema.Struct({
  /** The site (patchbay or TransformerLens name) of shape [batch, pos, d]: the vector has size d. */
  site: Schema.String,
  /** Positions of the contrast prompts whose activations are averaged (when the data gives none). */
  meanPositions: Schema.optionalWith(Schema.Literal("all", "last"), { default: () => "all" as const }),
  /** Where α·v is added in the target prompts: engine positions, or "last" (each prompt's last). */
  positions: Schema.optionalWith(Schema.Union(Positions, Schema.Literal("last")), {
    default: () => "all" as const,
  }),
  /** The strength sweep. */
  alphas: Schema.optionalWith(Schema.Array(Schema.Number), { default: () => [-4, -2, -1, 0, 1, 2, 4] }),
  /** The engine metric on the targets (logit-diff and prob-diff need `wrong` ids). */
  metric: Schema.optionalWith(Schema.Literal("logit-diff", "prob-diff", "logprob", "prob", "cross-entropy"), {
    default: () => "logit-diff" as const,
  }),
  /** Greedy continuations of each target per α (0 = none). */
  generateTokens: Schema.optionalWith(Schema.Int.pipe(Schema.nonNegative()), { default: () => 0 }),
  chunkSize: Schema.optionalWith(Schema.Int.pipe(Schema.positive()), { default: () => 32 }),
});
export type SteeringSpec = typeof SteeringSpec.Type;

export const SteeringData = Schema.Struct({
  positive: Ids,
  negative: Ids,
  /** Per contrast prompt, the positions averaged (default: spec.meanPositions). */
  positivePositions: Schema.optional(Ids),
  negativePositions: Schema.optional(Ids),
  /** The prompts steered and measured. */
  targets: Ids,
  /** Per target, the positions the metric reads (default: the last). */
  metricPositions: Schema.optional(Ids),
  /** Per target, one answer id per metric position (and one wrong id for the differences). */
  answers: Ids,
  wrong: Schema.optional(Ids),
});
export type SteeringData = typeof SteeringData.Type;

/**
 * meanPositions where the data lists the averaged positions of both contrasts (it would be unread).
 *
 * Returns an InputError, or null.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { steeringProblem } from "@patchbay/readouts";
 *
 * const data = { positive: [[0, 1]], negative: [[0, 2]], positivePositions: [[1]], negativePositions: [[1]] };
 * assert.equal(steeringProblem({ meanPositions: "all" }, data), null);
 * assert.equal(steeringProblem({ meanPositions: "last" }, data)?.field, "meanPositions");
 * ```
 */
export const steeringProblem = (
  s: { readonly meanPositions: string },
  data: Pick<SteeringData, "positivePositions" | "negativePositions">,
): InputError | null =>
  s.meanPositions !== "all" && data.positivePositions !== undefined && data.negativePositions !== undefined
    ? new InputError({
        field: "meanPositions",
        expected:
          "no meanPositions when the data gives positivePositions and negativePositions (they say which positions are averaged)",
        found: JSON.stringify(s.meanPositions),
      })
    : null;

export interface SteeringPoint {
  readonly alpha: number;
  /** Batch mean and per-target value of the metric with α·v added. */
  readonly metric: number;
  readonly perExample: readonly number[];
  /** Greedy continuations per target (token ids after the prompt, and text with a tokenizer). */
  readonly continuations: readonly { readonly ids: readonly number[]; readonly text: string | null }[] | null;
}

export interface SteeringResult {
  readonly site: string;
  readonly metricKind: string;
  /** v [d] as numbers, and ‖v‖. */
  readonly vector: readonly number[];
  readonly norm: number;
  /** The metric of the unsteered run (no intervention in the plan). */
  readonly clean: number;
  readonly cleanPerExample: readonly number[];
  readonly sweep: readonly SteeringPoint[];
}

/**
 * Linear erasure as data: the probe to measure (its site, split, control …), which directions are
 * erased, and the rank cap.
 *   "class-means": span{μ_c − μ̄} of the training rows (rank ≤ C − 1). After projecting it out
 *                  every class has the same mean, so no linear probe beats a constant one in
 *                  expectation (the guarantee behind LEACE, here with orthogonal projection).
 *   "probe":       the span of the trained probe's centred weight columns (rank ≤ C − 1); weaker:
 *                  other directions may still carry the concept.
 */
export const ErasureSpec = Schema.Struct({
  probe: ProbeSpec,
  direction: Schema.optionalWith(Schema.Literal("class-means", "probe"), {
    default: () => "class-means" as const,
  }),
  maxRank: Schema.optional(Schema.Int.pipe(Schema.positive())),
});
export type ErasureSpec = typeof ErasureSpec.Type;
