import { InputError } from "@patchbay/core/errors";
import { Schema } from "effect";
import { asIssue } from "../options.ts";

/**
 * A linear probe as data. Decoding fills the defaults, so `Schema.decodeUnknownSync(ProbeSpec)({site})`
 * is a complete spec.
 */
const probeFields = {
  /** The site probed (patchbay or TransformerLens name), of shape [batch, pos, …rest]. */
  site: Schema.String,
  /** For sites with a head axis ([batch, pos, head, …]): probe one head's slice only. */
  head: Schema.optional(Schema.Int.pipe(Schema.nonNegative())),
  /** Standardise each feature with the training rows' mean and std before fitting. */
  standardize: Schema.optionalWith(Schema.Boolean, { default: () => true }),
  /** λ of the L2 weight decay (λ/2)‖W‖² added to the mean cross-entropy. */
  l2: Schema.optionalWith(Schema.Number.pipe(Schema.nonNegative()), { default: () => 1e-3 }),
  /** Fraction of prompts held out (split by prompt, seeded). */
  heldOutFraction: Schema.optionalWith(Schema.Number.pipe(Schema.between(0.01, 0.99)), {
    default: () => 0.25,
  }),
  /** Seed of the split and of the control labelling. */
  seed: Schema.optionalWith(Schema.Int, { default: () => 0 }),
  /** L-BFGS iterations and the gradient tolerance ‖∇L‖∞ that stops them. */
  maxIter: Schema.optionalWith(Schema.Int.pipe(Schema.positive()), { default: () => 200 }),
  tol: Schema.optionalWith(Schema.Number.pipe(Schema.positive()), { default: () => 1e-6 }),
  /** Also train the Hewitt–Liang control task and report selectivity. */
  control: Schema.optionalWith(Schema.Boolean, { default: () => true }),
  /** How each type's control label is drawn (see control.ts). */
  controlSampling: Schema.optionalWith(Schema.Literal("uniform", "empirical"), {
    default: () => "uniform" as const,
  }),
  /** Prompts per engine run when capturing. */
  chunkSize: Schema.optionalWith(Schema.Int.pipe(Schema.positive()), { default: () => 32 }),
};

const PROBE_DEFAULTS = Schema.decodeSync(Schema.Struct(probeFields))({ site: "" });

/**
 * The control task's sampling without the control task.
 *
 * Returns an InputError, or null.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { probeProblem } from "@patchbay/readouts";
 *
 * assert.equal(probeProblem({ control: true, controlSampling: "empirical" }), null);
 * assert.equal(probeProblem({ control: false, controlSampling: "empirical" })?.field, "controlSampling");
 * ```
 */
export const probeProblem = (s: {
  readonly control: boolean;
  readonly controlSampling: string;
}): InputError | null =>
  !s.control && s.controlSampling !== PROBE_DEFAULTS.controlSampling
    ? new InputError({
        field: "controlSampling",
        expected: "no controlSampling unless control is true (it draws the control task's labels)",
        found: JSON.stringify(s.controlSampling),
      })
    : null;

export const ProbeSpec = Schema.Struct(probeFields).pipe(Schema.filter((s) => asIssue(probeProblem(s))));
export type ProbeSpec = typeof ProbeSpec.Type;

const Ids = Schema.Array(Schema.Array(Schema.Int));

/**
 * A probing dataset: prompts (token ids), per prompt the positions probed and one label per
 * position; optionally the control task's word type per position (default: the token id at that
 * position, as in Hewitt & Liang).
 */
export const ProbeData = Schema.Struct({
  prompts: Ids,
  positions: Ids,
  labels: Ids,
  types: Schema.optional(Ids),
});
export type ProbeData = typeof ProbeData.Type;

/** Accuracy of one probe (task or control). */
export interface ProbeScores {
  readonly trainAccuracy: number;
  readonly heldOutAccuracy: number;
  /** Final regularised training loss and L-BFGS iterations. */
  readonly loss: number;
  readonly iterations: number;
  /** Accuracy of predicting the most frequent training label on the held-out rows. */
  readonly majorityBaseline: number;
}

export interface ProbeResult {
  readonly site: string;
  readonly head: number | null;
  /** Feature dimension. */
  readonly dim: number;
  /** The distinct labels, in class-index order. */
  readonly classes: readonly number[];
  readonly nTrain: number;
  readonly nHeldOut: number;
  /** 1 / number of classes. */
  readonly chance: number;
  readonly task: ProbeScores;
  readonly control: ProbeScores | null;
  /** heldOut(task) − heldOut(control), or null without a control. */
  readonly selectivity: number | null;
}
