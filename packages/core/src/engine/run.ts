import { Effect } from "effect";
import { InputError, RuntimeError } from "../errors/index.ts";
import type { Graph } from "../graph/index.ts";
import type { ModelConfig, Weights } from "../model/index.ts";
import { feeds, makeBatch, resolveSites, type SessionCache, toHost } from "../runtime/index.ts";
import type { HostTensor } from "../tensor/index.ts";
import { buildTransformerGraph } from "../transformer/index.ts";
import { interventionFeeds, type InterventionValues, type MetricBinding, metricFeeds } from "./bind.ts";
import { type CompiledIntervention, interventionHooks, locate, planKey } from "./compile.ts";
import { buildMetric, METRIC, METRIC_MEAN } from "./metric.ts";
import type { Plan } from "./spec.ts";

export interface PlanValues {
  /** Run-time values per intervention, by index in plan.interventions. */
  readonly interventions?: readonly (InterventionValues | undefined)[];
  readonly metric?: MetricBinding;
}

export interface PlanResult {
  readonly logits: HostTensor | null;
  readonly sites: ReadonlyMap<string, HostTensor>;
  /** [batch] and the batch mean, when the plan has a metric. */
  readonly metric: { readonly perExample: Float32Array; readonly mean: number } | null;
  readonly lengths: readonly number[];
}

interface Compiled {
  readonly key: string;
  readonly interventions: readonly CompiledIntervention[];
  readonly captures: readonly string[];
}

/** Resolve names and sites of a plan; every problem is an InputError before anything runs. */
export const checkPlan = (c: ModelConfig, plan: Plan): Compiled => {
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
  return { key: `plan:${planKey(plan)}`, interventions, captures: resolveSites(c, plan.captures) };
};

export const compilePlan = (c: ModelConfig, w: Weights, plan: Plan, compiled: Compiled): Graph => {
  const { builder, logits } = buildTransformerGraph(c, w, {
    capture: compiled.captures,
    hooks: interventionHooks(compiled.interventions),
    logits: plan.logits,
  });
  if (plan.metric !== undefined) {
    const m = buildMetric(builder, plan.metric.kind, logits);
    builder.output(m.perExample);
    builder.output(m.mean);
  }
  return builder.build();
};

/**
 * Run a plan on a batch: compile (cached by the plan's structure), bind the run-time values as
 * graph inputs, run once. Captured sites are the values after the plan's interventions.
 */
export const runPlan = (
  cache: SessionCache,
  model: { readonly config: ModelConfig; readonly weights: Weights },
  plan: Plan,
  seqs: readonly (readonly number[])[],
  values: PlanValues = {},
): Effect.Effect<PlanResult, InputError | RuntimeError> =>
  Effect.gen(function* () {
    const c = model.config;
    const { compiled, batch, bound } = yield* Effect.try({
      try: () => {
        const compiled = checkPlan(c, plan);
        const batch = makeBatch(c, seqs);
        const bound = {
          ...interventionFeeds(c, batch, compiled.interventions, values.interventions ?? []),
          ...(plan.metric !== undefined
            ? metricFeeds(c, batch, plan.metric.kind, values.metric ?? failMissingMetric())
            : {}),
        };
        return { compiled, batch, bound };
      },
      catch: (e) => e as InputError,
    });
    const session = yield* cache.get(compiled.key, () => compilePlan(c, model.weights, plan, compiled));
    const base = feeds(
      batch,
      session.inputNames.filter((n) => !(n in bound)),
    );
    const out = yield* Effect.tryPromise({
      try: () => session.run({ ...base, ...bound }),
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
    return { logits: plan.logits ? toHost(out.logits!) : null, sites, metric, lengths: batch.lengths };
  });

const failMissingMetric = (): never => {
  throw new InputError({
    field: "values.metric",
    expected: "positions and answer ids for the plan's metric",
    found: "nothing",
  });
};
