import { Effect } from "effect";
import { attempt, InputError, RuntimeError } from "../errors/index.ts";
import { gradients, gradName } from "../autodiff/index.ts";
import type { Graph } from "../graph/index.ts";
import type { Model, ModelConfig, Weights } from "../model/index.ts";
import type { SessionCache } from "../runtime/index.ts";
import { checkLogits, checkMetric } from "../runtime/finite.ts";
import { feeds, resolveSites, toHost } from "../runtime/forward.ts";
import { makeBatch } from "../runtime/batch.ts";
import type { HostTensor } from "../tensor/index.ts";
import * as ort from "onnxruntime-node";
import { buildTransformerGraph, type SiteHooks } from "../transformer/index.ts";
import { leafName } from "../transformer/sites.ts";
import { EDGE_ABLATED, EDGE_MASK, edgeHooks, reshapedKvSites } from "../edges/hooks.ts";
import { edgeFeeds, type EdgeValues } from "../edges/bind.ts";
import { edgeLayout, type EdgeLayout } from "../edges/layout.ts";
import { interventionFeeds, type InterventionValues, type MetricBinding, metricFeeds } from "./bind.ts";
import { type CompiledIntervention, inputName, interventionHooks, locate, planKey } from "./compile.ts";
import { buildMetric, METRIC, METRIC_MEAN } from "./metric.ts";
import type { GradTarget, Plan } from "./spec.ts";

export interface PlanValues {
  /** Run-time values per intervention, by index in plan.interventions. */
  readonly interventions?: readonly (InterventionValues | undefined)[];
  readonly metric?: MetricBinding;
  /** Edge mask and ablated source outputs, when the plan patches edges. */
  readonly edges?: EdgeValues;
}

export interface PlanResult {
  readonly logits: HostTensor | null;
  readonly sites: ReadonlyMap<string, HostTensor>;
  /** [batch] and the batch mean, when the plan has a metric. */
  readonly metric: { readonly perExample: Float32Array; readonly mean: number } | null;
  /** ∂(batch-mean metric)/∂target for each plan gradient, keyed by `gradLabel(target)`. */
  readonly grads: ReadonlyMap<string, HostTensor>;
  readonly lengths: readonly number[];
}

interface Compiled {
  readonly key: string;
  readonly interventions: readonly CompiledIntervention[];
  readonly captures: readonly string[];
  /** Canonical site names of gradient targets of kind "site". */
  readonly gradSites: readonly string[];
  /** Layers whose attention weights are gradient targets (built in the per-head form). */
  readonly perHeadLayers: readonly number[];
  /** The component graph, when the plan patches edges. */
  readonly edges: EdgeLayout | null;
}

/**
 * The key of a gradient in PlanResult.grads.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { gradLabel } from "@patchbay/core/engine";
 *
 * assert.equal(gradLabel({ _tag: "site", site: "blocks.0.resid_pre" }), "site:blocks.0.resid_pre");
 * ```
 */
export const gradLabel = (t: GradTarget): string =>
  t._tag === "site"
    ? `site:${t.site}`
    : t._tag === "param"
      ? `param:${t.index}.${t.param}`
      : t._tag === "weight"
        ? `weight:${t.name}`
        : `edges:${t.param}`;

/** Resolve names and sites of a plan; every problem is an InputError before anything runs. */
export const checkPlan = (c: ModelConfig, plan: Plan, w: Weights): Compiled => {
  const interventions = plan.interventions.map((iv, i) => {
    const r = locate(c, iv, i);
    if (typeof r === "string")
      throw new InputError({
        field: `interventions[${i}].target.site`,
        expected: "a site of the model",
        found: r,
      });
    return r;
  });
  if (plan.gradients.length > 0 && plan.metric === undefined) {
    throw new InputError({
      field: "gradients",
      expected: "a metric to differentiate (plan.metric)",
      found: "no metric",
    });
  }
  const gradSites = resolveSites(
    c,
    plan.gradients.flatMap((t) => (t._tag === "site" ? [t.site] : [])),
  );
  const perHeadLayers: number[] = [];
  plan.gradients.forEach((t, i) => {
    if (t._tag === "param") {
      if (!(t.index >= 0 && t.index < plan.interventions.length)) {
        throw new InputError({
          field: `gradients[${i}].index`,
          expected: `an intervention index in [0, ${plan.interventions.length})`,
          found: String(t.index),
        });
      }
      const kind = plan.interventions[t.index]!._tag;
      const allowed = paramsOf[kind];
      if (!allowed.includes(t.param)) {
        throw new InputError({
          field: `gradients[${i}].param`,
          expected: `one of ${allowed.join(", ")} (a ${kind} intervention)`,
          found: JSON.stringify(t.param),
        });
      }
    }
    if (t._tag === "edges" && plan.edges === undefined) {
      throw new InputError({
        field: `gradients[${i}]`,
        expected: "a plan with `edges` (edge patching) for an edges gradient",
        found: "no edges in the plan",
      });
    }
    if (t._tag === "weight") {
      if (!w.has(t.name))
        throw new InputError({
          field: `gradients[${i}].name`,
          expected: "a canonical weight name (e.g. blocks.0.mlp.W_in)",
          found: JSON.stringify(t.name),
        });
      const m = /^blocks\.(\d+)\.attn\.[Wb]_[QKV]$/.exec(t.name);
      if (m !== null) perHeadLayers.push(Number(m[1]));
    }
  });
  const captures = resolveSites(c, plan.captures);
  const edges = plan.edges !== undefined ? edgeLayout(c, plan.edges.granularity) : null;
  const reshaped =
    edges === null
      ? []
      : reshapedKvSites(c, edges, [...captures, ...gradSites, ...interventions.map((iv) => iv.site.name)]);
  if (reshaped.length > 0)
    throw new InputError({
      field: "edges.granularity",
      expected: `no key/value site (${reshaped.join(", ")}) captured, changed or differentiated in a head-qkv edge plan under grouped-query attention (there they hold one slot per query head); use granularity head`,
      found: "head-qkv",
    });
  return { key: `plan:${planKey(plan)}`, interventions, captures, gradSites, perHeadLayers, edges };
};

/** The run-time parameters of each intervention kind, differentiable by name. */
const paramsOf: Record<Plan["interventions"][number]["_tag"], readonly string[]> = {
  replace: ["value"],
  add: ["value"],
  scale: ["factor"],
  subspace: ["rotation", "mask", "source"],
  "project-out": ["basis"],
};

export const compilePlan = (c: ModelConfig, w: Weights, plan: Plan, compiled: Compiled): Graph => {
  const hooks = compose(
    interventionHooks(compiled.interventions),
    compiled.edges && edgeHooks(c, compiled.edges),
  );
  // Gradients w.r.t. W_Q/W_K/W_V need them as initializers: those layers use the per-head form.
  // Sites that are gradient leaves must be read downstream too (per-head inputs and results).
  const touched = new Set([
    ...hooks.touched,
    ...compiled.gradSites,
    ...compiled.perHeadLayers.map((l) => `blocks.${l}.attn.q_input`),
  ]);
  const { builder, logits } = buildTransformerGraph(c, w, {
    capture: compiled.captures,
    hooks: { touched, at: hooks.at, kvPerQueryHead: hooks.kvPerQueryHead === true },
    leaves: compiled.gradSites,
    logits: plan.logits,
    weightsAsInputs: plan.weightsAsInputs === true,
  });
  if (plan.metric !== undefined) {
    const m = buildMetric(builder, plan.metric.kind, logits);
    builder.output(m.perExample);
    builder.output(m.mean);
  }
  const forward = builder.build();
  if (plan.gradients.length === 0) return forward;
  const wrt = plan.gradients.map((_, i) => gradTargetValue(plan, compiled, i));
  return gradients(forward, METRIC_MEAN, [...new Set(wrt)]).graph;
};

/** Interventions first, then edge patching, at every site. */
const compose = (first: SiteHooks, then: SiteHooks | null): SiteHooks =>
  then === null
    ? first
    : {
        touched: new Set([...first.touched, ...then.touched]),
        at: (site, value, g) => then.at(site, first.at(site, value, g), g),
        kvPerQueryHead: first.kvPerQueryHead === true || then.kvPerQueryHead === true,
      };

/**
 * Run a plan on a batch: compile (cached by the plan's structure), bind the run-time values as
 * graph inputs, run once. Captured sites are the values after the plan's interventions. Sequences
 * must fit the model's context (the cache's options may allow long context for rotary models);
 * non-finite logits or metric values are a RuntimeError naming the example (and position).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Engine, Runtime } from "@patchbay/core";
 * import { inductionTask } from "@patchbay/zoo";
 * import { Effect } from "effect";
 *
 * const task = inductionTask(0, 4); // clean prompts with metric positions, answers and wrong ids
 * const [clean, ablated] = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.gen(function* () {
 *       const model = yield* Runtime.openModel("builtin:induction");
 *       const metric = { positions: task.positions, answers: task.answers, wrong: task.wrong };
 *       const measure = Engine.plan({ metric: { kind: "logit-diff" }, logits: false });
 *       // zero-ablate the induction head (layer 1, head 2): a `scale` by a factor bound at run time
 *       const ablate = Engine.plan({
 *         ...measure,
 *         interventions: [{ _tag: "scale", target: { site: "blocks.1.attn.z", heads: [2] } }],
 *       });
 *       const a = yield* Engine.runPlan(model.sessions, model, measure, task.clean, { metric });
 *       const b = yield* Engine.runPlan(model.sessions, model, ablate, task.clean, {
 *         metric,
 *         interventions: [{ factor: 0 }],
 *       });
 *       return [a.metric!.mean, b.metric!.mean];
 *     }),
 *   ),
 * );
 * assert.ok(clean > 5 && ablated < clean / 2, `${clean} -> ${ablated}`);
 * ```
 */
export const runPlan = (
  cache: SessionCache,
  model: Model,
  plan: Plan,
  seqs: readonly (readonly number[])[],
  values: PlanValues = {},
): Effect.Effect<PlanResult, InputError | RuntimeError> =>
  Effect.gen(function* () {
    const c = model.config;
    const { compiled, batch, bound } = yield* attempt(() => {
      const compiled = checkPlan(c, plan, model.weights);
      const batch = makeBatch(c, seqs, "ids", cache.options);
      const bound = {
        ...interventionFeeds(c, batch, compiled.interventions, values.interventions ?? []),
        ...(plan.metric !== undefined
          ? metricFeeds(c, batch, plan.metric.kind, values.metric ?? failMissingMetric())
          : {}),
        ...(compiled.edges !== null ? edgeFeeds(c, compiled.edges, batch, values.edges) : {}),
      };
      return { compiled, batch, bound };
    }, InputError);
    const session = yield* cache.get(compiled.key, () => compilePlan(c, model.weights, plan, compiled));
    const withWeights =
      plan.weightsAsInputs === true
        ? {
            ...bound,
            ...(yield* attempt(() => weightFeeds(model.weights, session.inputNames), InputError)),
          }
        : bound;
    const base = feeds(
      batch,
      session.inputNames.filter((n) => !(n in withWeights)),
    );
    const out = yield* Effect.tryPromise({
      try: () => session.run({ ...base, ...withWeights }),
      catch: (cause) => new RuntimeError({ model: cache.model, operation: "running a plan", cause }),
    });
    const sites = new Map(plan.captures.map((n, i) => [n, toHost(out[compiled.captures[i]!]!)] as const));
    const metric =
      plan.metric !== undefined
        ? {
            perExample: out[METRIC]!.data as Float32Array,
            mean: (out[METRIC_MEAN]!.data as Float32Array)[0]!,
          }
        : null;
    const logits = plan.logits ? toHost(out.logits!) : null;
    // results are never silently non-finite (runtime/finite.ts); sites may hold −∞ (masked scores)
    const bad =
      (logits === null ? null : checkLogits(cache.model, "running a plan", logits, batch.lengths)) ??
      (metric === null ? null : checkMetric(cache.model, "running a plan", metric.perExample, metric.mean));
    if (bad !== null) return yield* bad;
    const grads = new Map(
      plan.gradients.map((t, i) => {
        const raw = toHost(out[gradOutput(plan, compiled, i)]!);
        // Fused W_O is stored [H·d_head, d]; report gradients in the canonical weight shape.
        const shape = t._tag === "weight" ? model.weights.get(t.name)!.shape : raw.shape;
        return [gradLabel(t), { data: raw.data, shape: [...shape] }] as const;
      }),
    );
    return { logits, sites, metric, grads, lengths: batch.lengths };
  });

/**
 * Weights as graph inputs (plan.weightsAsInputs): every input of the session that names a weight,
 * bound from the model of this run in its canonical shape. The session was compiled for the
 * weights' shapes, and a missing or reshaped weight is an InputError naming it.
 */
const weightFeeds = (w: Weights, inputNames: readonly string[]): Record<string, ort.Tensor> => {
  const out: Record<string, ort.Tensor> = {};
  for (const n of inputNames) {
    if (!isWeightInput(n)) continue;
    const t = w.get(n);
    if (t === undefined)
      throw new InputError({
        field: `weights.${n}`,
        expected: "the weight the compiled plan reads",
        found: "nothing",
      });
    out[n] = new ort.Tensor("float32", t.data, [...t.shape]);
  }
  return out;
};

/** Canonical weight names (model/weights.ts); other inputs are the batch, interventions, metric, edges. */
const isWeightInput = (n: string): boolean => /^(embed|pos_embed|blocks\.\d+|ln_final|unembed)\./.test(n);

/** The graph value that gradient i of a plan differentiates with respect to. */
const gradTargetValue = (plan: Plan, compiled: Compiled, i: number): string => {
  const t = plan.gradients[i]!;
  if (t._tag === "param") return inputName(t.index, t.param);
  if (t._tag === "weight") return t.name;
  if (t._tag === "edges") return t.param === "mask" ? EDGE_MASK : EDGE_ABLATED;
  const k = plan.gradients.slice(0, i).filter((x) => x._tag === "site").length;
  return leafName(compiled.gradSites[k]!);
};

/** The graph output holding gradient i of a plan. */
const gradOutput = (plan: Plan, compiled: Compiled, i: number): string =>
  gradName(gradTargetValue(plan, compiled, i));

const failMissingMetric = (): never => {
  throw new InputError({
    field: "values.metric",
    expected: "positions and answer ids for the plan's metric",
    found: "nothing",
  });
};
