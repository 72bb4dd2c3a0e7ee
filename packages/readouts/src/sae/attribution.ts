import { attempt, InputError, type RuntimeError } from "@patchbay/core/errors";
import type { HostTensor } from "@patchbay/core/tensor";
import { type MetricBinding, plan, runPlan } from "@patchbay/core/engine";
import type { Model } from "@patchbay/core/model";
import type { SessionCache } from "@patchbay/core/runtime";
import { Effect } from "effect";
import { positionsFor, saeSite } from "./capture.ts";
import { decodeInto, encodeInto, type Sae } from "./sae.ts";
import type { FeatureAttributionSpec } from "./spec.ts";

/**
 * SAE features as nodes of a circuit: at the SAE's site the model computes
 *   x = x̂(f) + ε,  x̂(f) = (W_dec f + b_dec)/c,  ε = x − x̂ (the error node, held at its clean value)
 * which is exact (x̂ + ε = x), so every feature f_i is a node with one edge into the site.
 *
 * Attribution patching per feature (the first-order effect of giving f_i its corrupted value):
 *   score_i = Σ_{b, p} (f_i(clean) − f_i(corrupted)) · ∂m/∂f_i,
 *   ∂m/∂f_i = W_dec[:, i] · ∂m/∂x / c
 * with ∂m/∂x the engine's gradient of the batch-mean metric at the spliced site (the gradient of
 * the `replace` value x̂ + ε). score_i ≈ m(clean) − m(f_i corrupted). The error node gets
 *   score_ε = Σ_{b, p} (ε(clean) − ε(corrupted)) · ∂m/∂x.
 * Exact patching of feature i, for the check: replace the site with x̂(f with f_i corrupted) + ε,
 * i.e. x + (f_i(corr) − f_i(clean)) · W_dec[:, i] / c at the positions; exact_i = m(clean) − that.
 * Where m is linear in the site (e.g. a logit difference read from ln_final.normalized), the two
 * agree exactly.
 */

export interface FeatureAttributionData {
  readonly clean: readonly (readonly number[])[];
  /** Same lengths as clean, example by example (positions are shared). */
  readonly corrupted: readonly (readonly number[])[];
  readonly metric: MetricBinding;
}

export interface FeatureScore {
  readonly feature: number;
  readonly score: number;
  /** Σ_{b,p} (f_i(clean) − f_i(corrupted)). */
  readonly deltaF: number;
  /** Tokens where f_i is active in the clean run. */
  readonly activeClean: number;
}

export interface FeatureAttributionResult {
  readonly site: string;
  readonly metric: string;
  /** Batch-mean metric: clean, corrupted, clean through the splice (x̂ + ε, equal to clean). */
  readonly metricClean: number;
  readonly metricCorrupted: number;
  readonly metricSpliced: number;
  /** Top features by |score| (ties: lower index first). */
  readonly features: FeatureScore[];
  readonly errorScore: number;
  /** Σ_i score_i over every feature. */
  readonly totalFeatureScore: number;
  readonly check: {
    readonly features: { feature: number; attribution: number; exact: number }[];
    readonly spearman: number | null;
    readonly maxAbsDiff: number;
  } | null;
}

export const mustEqualLayout = (
  clean: readonly (readonly number[])[],
  corr: readonly (readonly number[])[],
) => {
  if (clean.length !== corr.length)
    throw new InputError({
      field: "corrupted",
      expected: `${clean.length} prompts (as clean)`,
      found: `${corr.length}`,
    });
  clean.forEach((s, b) => {
    if (corr[b]!.length !== s.length)
      throw new InputError({
        field: `corrupted[${b}]`,
        expected: `${s.length} tokens, as clean[${b}] (features are compared position by position)`,
        found: `${corr[b]!.length}`,
      });
  });
};

/**
 * Per token (row offset into the captured site): the features of the clean and the corrupted
 * value, fc, fk [T, m], and the move of the error node ε = x − x̂ from corrupted to clean,
 * epsDiff [T, d] = ε(clean) − ε(corr). Feature attribution and feature circuits both need them.
 */
export const nodeValues = (
  sae: Sae,
  clean: ArrayLike<number>,
  corrupted: ArrayLike<number>,
  tokens: readonly number[],
): { fc: Float64Array; fk: Float64Array; epsDiff: Float64Array } => {
  const { d, m } = sae;
  const T = tokens.length;
  const fc = new Float64Array(T * m); //                               [T, m]
  const fk = new Float64Array(T * m);
  const epsDiff = new Float64Array(T * d); //                          [T, d]
  const row = new Float64Array(m);
  const xh = new Float64Array(d);
  tokens.forEach((off, t) => {
    encodeInto(sae, clean, off, row);
    fc.set(row, t * m);
    decodeInto(sae, row, xh);
    for (let j = 0; j < d; j++) epsDiff[t * d + j] = clean[off + j]! - xh[j]!;
    encodeInto(sae, corrupted, off, row);
    fk.set(row, t * m);
    decodeInto(sae, row, xh);
    for (let j = 0; j < d; j++) epsDiff[t * d + j]! -= corrupted[off + j]! - xh[j]!;
  });
  return { fc, fk, epsDiff };
};

/**
 * Attribution patching of SAE features: each feature's estimated effect on the metric between the clean and corrupted prompts, checked against exact patching on the top ones. Returns `{ site, metric, metricClean, metricCorrupted, metricSpliced, features, … }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSessionCache } from "@patchbay/core/runtime";
 * import { inductionModel, inductionTask } from "@patchbay/zoo";
 * import { Effect, Schema } from "effect";
 * import { captureActivations, featureAttribution, FeatureAttributionSpec, SaeTrainSpec, trainSae } from "@patchbay/readouts";
 * const model = inductionModel();
 * const task = inductionTask(0, 4, { blockLen: 4 });
 * const site = "blocks.1.resid_pre";
 * const spec = Schema.decodeUnknownSync(SaeTrainSpec)({ dictSize: 8, steps: 20, batchSize: 16 });
 * const data = { clean: task.clean, corrupted: task.corrupted, metric: { positions: task.positions, answers: task.answers, wrong: task.wrong } };
 * const fa = Schema.decodeUnknownSync(FeatureAttributionSpec)({ metric: { kind: "logit-diff" }, top: 4, check: 2 });
 * const r = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.flatMap(makeSessionCache("doc", { threads: 1 }), (cache) =>
 *       Effect.gen(function* () {
 *         const acts = yield* captureActivations(cache, model, site, "all", task.clean);
 *         const sae = trainSae(site, acts.data, acts.n, acts.d, spec).sae;
 *         return yield* featureAttribution(cache, model, sae, fa, data);
 *       }),
 *     ),
 *   ),
 * );
 * assert.ok(r.metricClean > r.metricCorrupted);
 * assert.ok(r.features.length <= 4);
 * ```
 */
export const featureAttribution = (
  cache: SessionCache,
  model: Model,
  sae: Sae,
  spec: FeatureAttributionSpec,
  data: FeatureAttributionData,
): Effect.Effect<FeatureAttributionResult, InputError | RuntimeError> =>
  Effect.gen(function* () {
    const { name, pos } = yield* attempt(() => {
      const { name, d } = saeSite(model.config, sae.site, "sae.site");
      if (d !== sae.d)
        throw new InputError({
          field: "sae.d",
          expected: `${d}, the size of ${name}`,
          found: String(sae.d),
        });
      mustEqualLayout(data.clean, data.corrupted);
      return {
        name,
        pos: positionsFor(
          spec.positions,
          data.clean.map((s) => s.length),
        ),
      };
    }, InputError);
    const { d, m, inputScale: c } = sae;
    const metric = spec.metric;
    const capture = plan({ captures: [name], metric, logits: false });
    const target = { site: name, positions: pos };
    const replace = plan({ interventions: [{ _tag: "replace", target }], metric, logits: false });
    const values = { metric: data.metric };
    const rc = yield* runPlan(cache, model, capture, data.clean, values);
    const rk = yield* runPlan(cache, model, capture, data.corrupted, values);
    const xc = rc.sites.get(name)!; //                                 [b, P, …rest]
    const xk = rk.sites.get(name)!;
    const P = xc.shape[1]!;
    const tokens = pos.flatMap((ps, b) => ps.map((p) => (b * P + p) * d)); // row offsets
    const { fc, fk, epsDiff } = nodeValues(sae, xc.data, xk.data, tokens);
    // The splice x̂(f_clean) + ε_clean equals x_clean; its value's gradient is ∂m/∂x at the site.
    const spliced = yield* runPlan(
      cache,
      model,
      { ...replace, gradients: [{ _tag: "param", index: 0, param: "value" }] },
      data.clean,
      { ...values, interventions: [{ value: xc }] },
    );
    const g = spliced.grads.get("param:0.value")!; //                  [b, P, …rest]
    const scores = new Float64Array(m);
    const deltaF = new Float64Array(m);
    const activeClean = new Float64Array(m);
    let errorScore = 0;
    tokens.forEach((off, t) => {
      for (let j = 0; j < d; j++) errorScore += epsDiff[t * d + j]! * g.data[off + j]!;
      for (let i = 0; i < m; i++) {
        const df = fc[t * m + i]! - fk[t * m + i]!;
        if (fc[t * m + i]! > 0) activeClean[i]! += 1;
        if (df === 0) continue;
        let dg = 0; //                                                   W_dec[:, i] · ∂m/∂x
        for (let j = 0; j < d; j++) dg += sae.decoder[i * d + j]! * g.data[off + j]!;
        scores[i]! += (df * dg) / c;
        deltaF[i]! += df;
      }
    });
    if (!scores.every(Number.isFinite) || !Number.isFinite(errorScore))
      return yield* new InputError({
        field: "gradient",
        expected: "finite feature scores",
        found: "NaN or ∞",
      });
    const ranked = Array.from({ length: m }, (_, i) => i).sort(
      (a, b) => Math.abs(scores[b]!) - Math.abs(scores[a]!) || a - b,
    );
    const features = ranked.slice(0, spec.top).map((i) => ({
      feature: i,
      score: scores[i]!,
      deltaF: deltaF[i]!,
      activeClean: activeClean[i]!,
    }));
    let check: FeatureAttributionResult["check"] = null;
    if (spec.check > 0) {
      // Baseline through the same compiled replace plan, so both sides share one graph.
      const base = yield* runPlan(cache, model, replace, data.clean, {
        ...values,
        interventions: [{ value: xc }],
      });
      const rows: { feature: number; attribution: number; exact: number }[] = [];
      for (const i of ranked.slice(0, spec.check)) {
        const value = patchFeature(sae, xc, tokens, fc, fk, i);
        const r = yield* runPlan(cache, model, replace, data.clean, {
          ...values,
          interventions: [{ value }],
        });
        rows.push({ feature: i, attribution: scores[i]!, exact: base.metric!.mean - r.metric!.mean });
      }
      check = {
        features: rows,
        spearman: spearman(
          rows.map((r) => r.attribution),
          rows.map((r) => r.exact),
        ),
        maxAbsDiff: rows.reduce((k, r) => Math.max(k, Math.abs(r.attribution - r.exact)), 0),
      };
    }
    return {
      site: name,
      metric: metric.kind,
      metricClean: rc.metric!.mean,
      metricCorrupted: rk.metric!.mean,
      metricSpliced: spliced.metric!.mean,
      features,
      errorScore,
      totalFeatureScore: scores.reduce((a, b) => a + b, 0),
      check,
    };
  });

/** x_clean + (f_i(corr) − f_i(clean)) · W_dec[:, i] / c at every token row (float32 site tensor). */
const patchFeature = (
  sae: Sae,
  xc: HostTensor,
  tokens: readonly number[],
  fc: Float64Array,
  fk: Float64Array,
  i: number,
): HostTensor => {
  const { d, m } = sae;
  const out = xc.data.slice();
  tokens.forEach((off, t) => {
    const df = fk[t * m + i]! - fc[t * m + i]!;
    if (df === 0) return;
    for (let j = 0; j < d; j++)
      out[off + j] = xc.data[off + j]! + (df * sae.decoder[i * d + j]!) / sae.inputScale;
  });
  return { data: out, shape: [...xc.shape] };
};

/** Ranks 1..n with ties averaged. */
const ranks = (v: readonly number[]): number[] => {
  const idx = v.map((_, i) => i).sort((a, b) => v[a]! - v[b]!);
  const r = new Array<number>(v.length);
  for (let s = 0; s < idx.length; ) {
    let e = s;
    while (e + 1 < idx.length && v[idx[e + 1]!] === v[idx[s]!]) e++;
    for (let k = s; k <= e; k++) r[idx[k]!] = (s + e) / 2 + 1;
    s = e + 1;
  }
  return r;
};

/**
 * Spearman's ρ: Pearson correlation of the ranks; null for fewer than 2 values or constant ranks.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { spearman } from "@patchbay/readouts";
 *
 * assert.equal(spearman([1, 2, 3], [10, 20, 30]), 1);
 * assert.equal(spearman([1], [2]), null);
 * ```
 */
export const spearman = (a: readonly number[], b: readonly number[]): number | null => {
  if (a.length !== b.length || a.length < 2) return null;
  const ra = ranks(a);
  const rb = ranks(b);
  const n = a.length;
  const ma = ra.reduce((s, x) => s + x, 0) / n;
  const mb = rb.reduce((s, x) => s + x, 0) / n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let k = 0; k < n; k++) {
    sab += (ra[k]! - ma) * (rb[k]! - mb);
    saa += (ra[k]! - ma) ** 2;
    sbb += (rb[k]! - mb) ** 2;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : null;
};
