import { attempt, InputError, type RuntimeError } from "@patchbay/core/errors";
import type { Model } from "@patchbay/core/model";
import type { SessionCache } from "@patchbay/core/runtime";
import { Effect } from "effect";
import { gradientNorms, gradientTimesInput, inputGradient, rows } from "./gradient.ts";
import { baselineInput, checkExample, inputSite } from "./input-site.ts";
import { integratedGradients } from "./integrated-gradients.ts";
import { occlusion } from "./occlusion.ts";
import { type InputAttributionData, type InputAttributionSpec, inputAttributionProblem } from "./spec.ts";

/**
 * Input attribution over the tokens of each example: any of gradient, gradient × input,
 * integrated gradients (with its completeness check) and occlusion, for one metric of the engine.
 * Every forward and backward pass runs in the engine (runPlan); this file only arranges the runs
 * and reduces the per-dimension values to one number per token. Plain JSON out.
 */
export interface ExampleAttribution {
  readonly ids: number[];
  /** F(x) on the clean prompt. */
  readonly metric: number;
  readonly gradient?: {
    /** ‖∂F/∂x_p‖₂ [P]. */
    readonly norms: number[];
    /** ∂F/∂x [P][d] (spec.vectors). */
    readonly vectors?: number[][];
  };
  /** Σ_i x_{p,i}·∂F/∂x_{p,i} [P]. */
  readonly gradientXInput?: number[];
  readonly integratedGradients?: {
    readonly attributions: number[];
    readonly vectors?: number[][];
    readonly baselineMetric: number;
    readonly completeness: {
      /** Σ_p attributions_p. */
      readonly total: number;
      /** F(x) − F(x′). */
      readonly expected: number;
      readonly absError: number;
      readonly relError: number;
      /** Present when relError > 1e-2 (an unresolved path, e.g. a zero baseline through a norm). */
      readonly warning?: string;
    };
    readonly steps: number;
    readonly rule: InputAttributionSpec["rule"];
  };
  readonly occlusion?: { readonly attributions: number[]; readonly occluded: number[] };
}

export interface InputAttributionResult {
  readonly kind: "input-attribution";
  /** The canonical site attributed to (embed or blocks.0.resid_pre). */
  readonly site: string;
  readonly metric: InputAttributionSpec["metric"];
  readonly baseline: InputAttributionSpec["baseline"];
  readonly examples: ExampleAttribution[];
}

/**
 * Input attribution per token (gradient norm, gradient × input, integrated gradients, occlusion) of a metric, for each example. Returns `{ kind, site, metric, baseline, examples: [{ ids, metric, gradient?, … }] }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSessionCache } from "@patchbay/core/runtime";
 * import { inductionModel, inductionTask } from "@patchbay/zoo";
 * import { Effect, Schema } from "effect";
 * import { inputAttribution, InputAttributionSpec } from "@patchbay/readouts";
 * const model = inductionModel();
 * const t = inductionTask(0, 1, { blockLen: 4 });
 * const ex = { ids: t.clean[0]!, positions: t.positions[0]!, answers: t.answers[0]!, wrong: t.wrong[0]! };
 * const spec = Schema.decodeUnknownSync(InputAttributionSpec)({ methods: ["gradient", "integrated-gradients"], steps: 4 });
 * const r = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.flatMap(makeSessionCache("doc", { threads: 1 }), (cache) =>
 *       inputAttribution(cache, model, spec, { examples: [ex] }),
 *     ),
 *   ),
 * );
 * assert.equal(r.examples.length, 1);
 * assert.equal(r.examples[0]!.gradient?.norms.length, ex.ids.length); // one score per token
 * ```
 */
export const inputAttribution = (
  cache: SessionCache,
  model: Model,
  spec: InputAttributionSpec,
  data: InputAttributionData,
): Effect.Effect<InputAttributionResult, InputError | RuntimeError> =>
  Effect.gen(function* () {
    const c = model.config;
    const d = c.dModel;
    const site = inputSite(spec.input);
    const want = new Set(spec.methods);
    const refused = inputAttributionProblem(spec);
    if (refused !== null) return yield* refused;
    if (data.examples.length === 0)
      return yield* Effect.fail(
        new InputError({ field: "data.examples", expected: "at least one example", found: "[]" }),
      );
    const examples: ExampleAttribution[] = [];
    for (const [e, ex] of data.examples.entries()) {
      const field = `data.examples[${e}]`;
      yield* attempt(() => checkExample(c, ex, field, spec.metric), InputError);
      const P = ex.ids.length;
      const g = yield* inputGradient(cache, model, site, spec.metric, ex, field);
      const needBase = want.has("integrated-gradients") || want.has("occlusion");
      const xBase = needBase ? yield* baselineInput(cache, model, site, spec.baseline, ex, field) : null;
      const out: {
        -readonly [K in keyof ExampleAttribution]: ExampleAttribution[K];
      } = { ids: [...ex.ids], metric: g.metric };
      if (want.has("gradient"))
        out.gradient = {
          norms: gradientNorms(g.grad, P, d),
          ...(spec.vectors ? { vectors: rows(g.grad, P, d) } : {}),
        };
      if (want.has("gradient-x-input")) out.gradientXInput = gradientTimesInput(g.x, g.grad, P, d);
      if (want.has("integrated-gradients")) {
        const ig = yield* integratedGradients(cache, model, site, spec.metric, ex, g.x, xBase!, spec, field);
        out.integratedGradients = {
          attributions: ig.attributions,
          ...(spec.vectors ? { vectors: ig.vectors } : {}),
          baselineMetric: ig.baselineMetric,
          completeness: {
            total: ig.total,
            expected: ig.expected,
            absError: ig.absError,
            relError: ig.relError,
            ...(ig.warning !== undefined ? { warning: ig.warning } : {}),
          },
          steps: ig.steps,
          rule: ig.rule,
        };
      }
      if (want.has("occlusion"))
        out.occlusion = yield* occlusion(
          cache,
          model,
          site,
          spec.metric,
          ex,
          g.metric,
          xBase!,
          spec.batchSize,
          field,
        );
      examples.push(out);
    }
    return { kind: "input-attribution", site, metric: spec.metric, baseline: spec.baseline, examples };
  });
