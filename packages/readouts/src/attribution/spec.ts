import { InputError } from "@patchbay/core/errors";
import { Schema } from "effect";
import { asIssue, sameOption } from "../options.ts";

/**
 * Attribution methods as data (docs/methods.md#input-attribution): each a serialisable effect Schema whose
 * defaults are filled by decoding (`Schema.decodeUnknownSync(InputAttributionSpec)({})`); the
 * data a method runs on (token ids, metric positions, answers) is passed beside it.
 */

/** The metric kinds of the engine (logit-diff, prob-diff, logprob, prob, cross-entropy, kl). */
export const AttributionMetricKind = Schema.Literal(
  "logit-diff",
  "prob-diff",
  "logprob",
  "prob",
  "cross-entropy",
  "kl",
);
export type AttributionMetricKind = typeof AttributionMetricKind.Type;

/**
 * The baseline x′ of integrated gradients and occlusion, at the input site:
 *   zero     x′ = 0
 *   token    x′ = the input site's value on the prompt [t, t, …, t] (e.g. BOS or pad); at "embed"
 *            that is W_E[t] at every position, at "resid_pre" W_E[t] + W_pos[p]
 *   prompt   x′ = the input site's value on the example's own `baseline` prompt (a corrupted
 *            prompt of the same length)
 */
export const Baseline = Schema.Union(
  Schema.TaggedStruct("zero", {}),
  Schema.TaggedStruct("token", { token: Schema.Int.pipe(Schema.nonNegative()) }),
  Schema.TaggedStruct("prompt", {}),
);
export type Baseline = typeof Baseline.Type;

export const InputMethod = Schema.Literal(
  "gradient",
  "gradient-x-input",
  "integrated-gradients",
  "occlusion",
);
export type InputMethod = typeof InputMethod.Type;

/**
 * Input attribution over the tokens of a prompt, for a metric F of the engine.
 *
 * `input` says what x is:
 *   "embed"      the token embedding W_E[ids] alone (TransformerLens hook_embed). For models with
 *                learned positions the positional embedding is held at its value: attributions
 *                are to the tokens, and F(x′) keeps the positions (Captum's layer IG on the word
 *                embeddings does the same). The default.
 *   "resid_pre"  the summed input blocks.0.resid_pre = W_E[ids] (+ W_pos): the zero baseline then
 *                removes the positions too.
 * `rule` is the quadrature of IG over α ∈ [0, 1] with K = `steps` intervals, α_k = k/K:
 *   "trapezoid"  (1/K)(½g_0 + g_1 + … + g_{K−1} + ½g_K)   error O(1/K²); the default
 *   "right"      (1/K)(g_1 + … + g_K)                      error O(1/K); K = 1 with the zero
 *                                                          baseline is gradient × input
 * `batchSize` bounds the rows of one engine run (the K + 1 interpolation points, or the P
 * occluded prompts, are run in chunks of at most this many).
 * `vectors` adds the per-dimension values ([pos][d]) of the gradient and of IG to the result.
 */
const inputAttributionFields = {
  metric: Schema.optionalWith(AttributionMetricKind, { default: () => "logit-diff" as const }),
  input: Schema.optionalWith(Schema.Literal("embed", "resid_pre"), { default: () => "embed" as const }),
  methods: Schema.optionalWith(Schema.Array(InputMethod), {
    default: () => ["gradient", "gradient-x-input", "integrated-gradients", "occlusion"] as const,
  }),
  baseline: Schema.optionalWith(Baseline, { default: () => ({ _tag: "zero" as const }) }),
  steps: Schema.optionalWith(Schema.Int.pipe(Schema.positive()), { default: () => 50 }),
  rule: Schema.optionalWith(Schema.Literal("trapezoid", "right"), { default: () => "trapezoid" as const }),
  batchSize: Schema.optionalWith(Schema.Int.pipe(Schema.positive()), { default: () => 64 }),
  vectors: Schema.optionalWith(Schema.Boolean, { default: () => false }),
};
const INPUT_DEFAULTS = Schema.decodeSync(Schema.Struct(inputAttributionFields))({});

/**
 * The options of input attribution that only some of its methods read, given with none of them:
 * steps and rule (integrated gradients), baseline and batchSize (integrated gradients, occlusion),
 * vectors (gradient, integrated gradients); and an empty method list.
 *
 * Returns an InputError, or null.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Schema } from "effect";
 * import { inputAttributionProblem, InputAttributionSpec } from "@patchbay/readouts";
 *
 * const ok = Schema.decodeUnknownSync(InputAttributionSpec)({});
 * assert.equal(inputAttributionProblem(ok), null);
 * const igOnly = { ...ok, methods: ["gradient" as const], steps: 10 };
 * assert.equal(inputAttributionProblem(igOnly)?.field, "steps"); // only integrated gradients reads steps
 * // the schema applies the same rule
 * assert.throws(() => Schema.decodeUnknownSync(InputAttributionSpec)({ methods: ["gradient"], steps: 10 }));
 * ```
 */
export const inputAttributionProblem = (s: {
  readonly methods: readonly InputMethod[];
  readonly steps: number;
  readonly rule: string;
  readonly baseline: Baseline;
  readonly batchSize: number;
  readonly vectors: boolean;
}): InputError | null => {
  const found = `methods ${JSON.stringify(s.methods)}`;
  if (s.methods.length === 0)
    return new InputError({ field: "methods", expected: "at least one attribution method", found: "[]" });
  const has = (m: InputMethod) => s.methods.includes(m);
  const unread = (
    field: "steps" | "rule" | "baseline" | "batchSize" | "vectors",
    readers: readonly InputMethod[],
    what: string,
  ) =>
    readers.some(has) || sameOption(s[field], INPUT_DEFAULTS[field])
      ? null
      : new InputError({
          field,
          expected: `no ${field} unless methods include ${readers.join(" or ")} (${what}); ${found}`,
          found: JSON.stringify(s[field]),
        });
  return (
    unread("steps", ["integrated-gradients"], "the intervals of the IG path integral") ??
    unread("rule", ["integrated-gradients"], "the quadrature of the IG path integral") ??
    unread("baseline", ["integrated-gradients", "occlusion"], "the x′ they integrate from or occlude with") ??
    unread("batchSize", ["integrated-gradients", "occlusion"], "the rows of their chunked runs") ??
    unread("vectors", ["gradient", "integrated-gradients"], "their per-dimension values")
  );
};

export const InputAttributionSpec = Schema.Struct(inputAttributionFields).pipe(
  Schema.filter((s) => asIssue(inputAttributionProblem(s))),
);
export type InputAttributionSpec = typeof InputAttributionSpec.Type;

/**
 * Direct logit attribution: which components to report. The embeddings, the biases and the final
 * norm's bias are always reported (they make the terms sum to the logit difference).
 */
export const DlaSpec = Schema.Struct({
  heads: Schema.optionalWith(Schema.Boolean, { default: () => true }),
  mlps: Schema.optionalWith(Schema.Boolean, { default: () => true }),
  neurons: Schema.optionalWith(Schema.Boolean, { default: () => false }),
});
export type DlaSpec = typeof DlaSpec.Type;

/**
 * Neurons asked of a model without MLPs (there are none to report).
 *
 * Returns an InputError, or null.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { dlaProblem } from "@patchbay/readouts";
 *
 * assert.equal(dlaProblem({ neurons: true }, 64), null);
 * assert.equal(dlaProblem({ neurons: true }, null)?.field, "neurons"); // an attention-only model
 * ```
 */
export const dlaProblem = (s: { readonly neurons: boolean }, dMlp: number | null): InputError | null =>
  s.neurons && !(dMlp !== null && dMlp > 0)
    ? new InputError({
        field: "neurons",
        expected: "neurons only for a model with MLPs (an attention-only model has no neurons to report)",
        found: "true",
      })
    : null;

/**
 * Attention patterns (every layer and head) and attention rollout (Abnar & Zuidema 2020):
 *   Â_l = rownorm(½·mean_h A_l + ½·I),   rollout_l = Â_l ⋯ Â_0
 * `residualWeight` is the ½ on I (0 gives the plain product of head-mean patterns).
 */
const attentionFields = {
  patterns: Schema.optionalWith(Schema.Boolean, { default: () => true }),
  rollout: Schema.optionalWith(Schema.Boolean, { default: () => true }),
  residualWeight: Schema.optionalWith(Schema.Number.pipe(Schema.between(0, 1)), { default: () => 0.5 }),
};

const ATTENTION_DEFAULTS = Schema.decodeSync(Schema.Struct(attentionFields))({});

/**
 * Neither patterns nor rollout (nothing to report), or a residual weight without rollout.
 *
 * Returns an InputError, or null.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { attentionProblem } from "@patchbay/readouts";
 *
 * assert.equal(attentionProblem({ patterns: true, rollout: false, residualWeight: 0.5 }), null);
 * assert.notEqual(attentionProblem({ patterns: false, rollout: false, residualWeight: 0.5 }), null);
 * ```
 */
export const attentionProblem = (s: {
  readonly patterns: boolean;
  readonly rollout: boolean;
  readonly residualWeight: number;
}): InputError | null =>
  !s.patterns && !s.rollout
    ? new InputError({
        field: "rollout",
        expected: "patterns or rollout (or both) reported",
        found: "patterns false, rollout false",
      })
    : !s.rollout && s.residualWeight !== ATTENTION_DEFAULTS.residualWeight
      ? new InputError({
          field: "residualWeight",
          expected: "no residualWeight unless rollout is true (it is the weight of I in the rollout)",
          found: String(s.residualWeight),
        })
      : null;

export const AttentionSpec = Schema.Struct(attentionFields).pipe(
  Schema.filter((s) => asIssue(attentionProblem(s))),
);
export type AttentionSpec = typeof AttentionSpec.Type;

/** One prompt of input attribution, with its metric binding (the engine's MetricBinding, per slot). */
export interface InputExample {
  /** Token ids [P]. */
  readonly ids: readonly number[];
  /** Metric positions [n]. */
  readonly positions: readonly number[];
  /** Answer id per metric position [n]. */
  readonly answers: readonly number[];
  /** Wrong id per metric position [n] (logit-diff, prob-diff). */
  readonly wrong?: readonly number[];
  /** kl: reference logits [n][d_vocab] at the metric positions. */
  readonly reference?: readonly (readonly number[])[];
  /** The baseline prompt [P] when spec.baseline is { _tag: "prompt" }. */
  readonly baseline?: readonly number[];
}

export interface InputAttributionData {
  readonly examples: readonly InputExample[];
}

/** A batch for DLA and attention: prompts (ragged), and for DLA the metric slots per prompt. */
export interface DlaData {
  readonly prompts: readonly (readonly number[])[];
  readonly positions: readonly (readonly number[])[];
  readonly answers: readonly (readonly number[])[];
  /** When absent, the direction is the answer's unembedding alone (the answer logit). */
  readonly wrong?: readonly (readonly number[])[];
}

export interface AttentionData {
  readonly prompts: readonly (readonly number[])[];
}
