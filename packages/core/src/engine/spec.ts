import { Schema } from "effect";
import { GRANULARITIES } from "../edges/layout.ts";
import { METRIC_KINDS } from "./metric-kinds.ts";

/**
 * Interventions as data. A plan is a JSON-serialisable value: the same spec drives the CLI, the
 * cache key of the compiled graph and a remote worker. Everything that changes between runs of
 * one plan (patch values, steering vectors, rotations, masks, positions, scale factors) is bound
 * at run time as a graph input; the plan's *structure* alone decides the compiled graph.
 */

/**
 * Which positions of a site, per example: "all", one list for every example, or one list per
 * example (prompts differ in length and layout).
 */
export const Positions = Schema.Union(
  Schema.Literal("all"),
  Schema.Array(Schema.Int),
  Schema.Array(Schema.Array(Schema.Int)),
);
export type Positions = typeof Positions.Type;

/**
 * Where an intervention acts: a site (patchbay or TransformerLens name), optionally narrowed to
 * heads (sites with a head or kv_head axis), positions (the query `pos` axis) and indices of the
 * last axis (neurons of mlp.post, dimensions of the residual stream, …).
 */
export const Target = Schema.Struct({
  site: Schema.String,
  heads: Schema.optional(Schema.Array(Schema.Int)),
  positions: Schema.optional(Positions),
  dims: Schema.optional(Schema.Array(Schema.Int)),
});
export type Target = typeof Target.Type;

/**
 * The kinds. With M the 0/1 selection mask of the target (positions ⊗ heads ⊗ dims, broadcast
 * over the site), x the site's value and x′ its new value:
 *   replace      x′ = x + M ⊙ (P − x)          P bound at run time (activation patching, mean and
 *                                              resample ablation and interchange all reduce to it)
 *   add          x′ = x + M ⊙ (α · v)         v: [last axis] vector or a full-site tensor; α bound
 *   scale        x′ = x + M ⊙ (s − 1) · x      s bound at run time; zero ablation is s = 0
 *   subspace     x′ = x + M ⊙ Rᵀ(m ⊙ (R·s − R·x))   R [k, D] rows orthonormal, m [k] mask in [0,1],
 *                                              s the source values (DAS, low-rank, boundless DAS)
 *   project-out  x′ = x − M ⊙ (x·Q)Qᵀ          Q [D, k] orthonormal columns (linear erasure)
 */
export const Replace = Schema.TaggedStruct("replace", { target: Target });
export const Add = Schema.TaggedStruct("add", {
  target: Target,
  /** "vector": v has the size of the last axis; "full": v has the site's full shape. */
  shape: Schema.Literal("vector", "full"),
});
export const Scale = Schema.TaggedStruct("scale", { target: Target });
export const Subspace = Schema.TaggedStruct("subspace", {
  target: Target,
  /** k, the number of rotated directions (rows of R). */
  rank: Schema.Int.pipe(Schema.positive()),
  /** Require RRᵀ = I when binding (DAS); off for learned non-orthogonal maps. */
  orthogonal: Schema.optionalWith(Schema.Boolean, { default: () => true }),
});
export const ProjectOut = Schema.TaggedStruct("project-out", {
  target: Target,
  rank: Schema.Int.pipe(Schema.positive()),
});
export const Intervention = Schema.Union(Replace, Add, Scale, Subspace, ProjectOut);
export type Intervention = typeof Intervention.Type;

/**
 * Metrics computed inside the graph, per example and as a mean over the batch. Each example has
 * its own positions (n per example, padded with weight 0 for ragged layouts), answer ids and, for
 * logit/probability differences, wrong ids; the value for an example is the weighted mean over its
 * positions.
 *   logit-diff     logit[answer] − logit[wrong]
 *   prob-diff      p[answer] − p[wrong]
 *   logprob        log p[answer]                (log-softmax, stable)
 *   prob           p[answer]
 *   cross-entropy  −log p[answer]
 *   kl             KL(p_ref ‖ p) = Σ_v p_ref (log p_ref − log p), reference logits bound at run time
 */
export const MetricKind = Schema.Literal(...METRIC_KINDS);
export type MetricKind = typeof MetricKind.Type;

export const Metric = Schema.Struct({ kind: MetricKind });
export type Metric = typeof Metric.Type;

/** What a gradient is taken with respect to. */
export const GradTarget = Schema.Union(
  /** A site's value, as a leaf: ∂metric/∂site with everything upstream held fixed. */
  Schema.TaggedStruct("site", { site: Schema.String }),
  /** The run-time parameter of intervention `index` (its P, v, s, R, m or Q; named by `param`). */
  Schema.TaggedStruct("param", { index: Schema.Int, param: Schema.String }),
  /** A weight by canonical name (e.g. blocks.0.mlp.W_in). */
  Schema.TaggedStruct("weight", { name: Schema.String }),
  /** An input of edge patching: the mask [batch, S, D] (EAP scores) or the ablated outputs. */
  Schema.TaggedStruct("edges", { param: Schema.Literal("mask", "ablated") }),
);
export type GradTarget = typeof GradTarget.Type;

/**
 * Edge patching over the component graph (../edges): the plan's graph takes an edge mask and the
 * ablated source outputs as inputs, in_v = in_v − Σ_u (1 − m_uv)(z_u − z′_u) at every destination.
 */
export const EdgePatching = Schema.Struct({
  /** head, head-qkv (GQA: a <k>/<v> destination per query head) or layer; see edges/layout.ts */
  granularity: Schema.optionalWith(Schema.Literal(...GRANULARITIES), {
    default: () => "head" as const,
  }),
});
export type EdgePatching = typeof EdgePatching.Type;

export const Plan = Schema.Struct({
  captures: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
  interventions: Schema.optionalWith(Schema.Array(Intervention), { default: () => [] }),
  metric: Schema.optional(Metric),
  gradients: Schema.optionalWith(Schema.Array(GradTarget), { default: () => [] }),
  /** Edge patching, applied after the interventions at each site. */
  edges: Schema.optional(EdgePatching),
  /** Whether the full logits leave the graph (false saves memory when only a metric is needed). */
  logits: Schema.optionalWith(Schema.Boolean, { default: () => true }),
  /**
   * Weights as graph inputs instead of initializers, bound from the model passed to each run: one
   * compiled session serves changing weights (training loops). Attention uses the per-head form.
   */
  weightsAsInputs: Schema.optional(Schema.Boolean),
});
export type Plan = typeof Plan.Type;

/**
 * A plan with the schema's defaults filled in (no captures, interventions or gradients; logits
 * out), so callers spell out only what their run needs: `plan({ captures: ["blocks.0.hook_resid_pre"] })`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Engine } from "@patchbay/core";
 *
 * const p = Engine.plan({ captures: ["blocks.0.attn.pattern"], metric: { kind: "logit-diff" } });
 * assert.deepEqual(p.interventions, []); // not given: no interventions or gradients, logits out
 * assert.equal(p.logits, true);
 * ```
 */
export const plan = (fields: Partial<Plan> = {}): Plan => ({
  captures: [],
  interventions: [],
  gradients: [],
  logits: true,
  ...fields,
});
