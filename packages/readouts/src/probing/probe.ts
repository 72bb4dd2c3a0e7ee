import { attempt, InputError, type RuntimeError } from "@patchbay/core/errors";
import type { Model } from "@patchbay/core/model";
import type { SessionCache } from "@patchbay/core/runtime";
import { Effect } from "effect";
import { controlLabels } from "./control.ts";
import { captureFeatures, checkProbeData, type Features } from "./dataset.ts";
import {
  fitStandardizer,
  indexClasses,
  majorityBaseline,
  type Standardizer,
  selectRows,
  splitGroups,
} from "./features.ts";
import { accuracy, fitSoftmax, predictSoftmax, type SoftmaxModel } from "./logistic.ts";
import { type ProbeData, type ProbeResult, type ProbeScores, type ProbeSpec, probeProblem } from "./spec.ts";

/**
 * Linear probing: capture a site at the dataset's positions through the engine, split by prompt
 * (seeded), fit a softmax probe on the training rows, score train and held-out accuracy; the same
 * for the control task (a random label per word type), and selectivity = held-out task accuracy
 * − held-out control accuracy.
 */

/** A fitted probe, reusable on other features of the same site (e.g. after erasure). */
export interface TrainedProbe {
  readonly classes: readonly number[];
  /** Applied before the softmax model (null without standardisation). */
  readonly standardizer: Standardizer | null;
  readonly model: SoftmaxModel;
}

export interface ProbeFit {
  readonly result: ProbeResult;
  readonly task: TrainedProbe;
  /** Rows (indices into the features) of each side of the split. */
  readonly trainRows: readonly number[];
  readonly heldOutRows: readonly number[];
}

/**
 * The split of rows by prompt: rows whose prompt is held out, and the rest.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { splitRows } from "@patchbay/readouts";
 *
 * const group = Int32Array.of(0, 0, 1, 1, 2, 2, 3, 3); // two rows per prompt
 * const { trainRows, heldOutRows } = splitRows(group, 4, 0.25, 0);
 * assert.equal(heldOutRows.length, 2); // one prompt's rows
 * assert.equal(group[heldOutRows[0]!], group[heldOutRows[1]!]);
 * assert.equal(trainRows.length, 6);
 * ```
 */
export const splitRows = (
  group: Int32Array,
  nPrompts: number,
  fraction: number,
  seed: number,
): { trainRows: number[]; heldOutRows: number[] } => {
  const { heldOut } = splitGroups(nPrompts, fraction, seed);
  const held = new Set(heldOut);
  const trainRows: number[] = [];
  const heldOutRows: number[] = [];
  group.forEach((g, i) => {
    (held.has(g) ? heldOutRows : trainRows).push(i);
  });
  return { trainRows, heldOutRows };
};

/** Fit one softmax probe on the training rows and score it on both sides. */
const fitOne = (
  f: Features,
  labels: readonly number[],
  trainRows: readonly number[],
  heldOutRows: readonly number[],
  spec: ProbeSpec,
): { probe: TrainedProbe; scores: ProbeScores } => {
  const { classes, y } = indexClasses(labels);
  const C = classes.length;
  const st = spec.standardize ? fitStandardizer(f.X, f.dim, trainRows) : null;
  const Xtr = selectRows(f.X, f.dim, trainRows, st);
  const Xho = selectRows(f.X, f.dim, heldOutRows, st);
  const ytr = Int32Array.from(trainRows, (i) => y[i]!);
  const yho = Int32Array.from(heldOutRows, (i) => y[i]!);
  const fit = fitSoftmax(Xtr, ytr, f.dim, C, { l2: spec.l2, maxIter: spec.maxIter, tol: spec.tol });
  if (!Number.isFinite(fit.loss))
    throw new InputError({ field: "features", expected: "a finite probe loss", found: String(fit.loss) });
  const probe = { classes, standardizer: st, model: fit.model };
  return {
    probe,
    scores: {
      trainAccuracy: accuracy(predictSoftmax(fit.model, Xtr), ytr),
      heldOutAccuracy: accuracy(predictSoftmax(fit.model, Xho), yho),
      loss: fit.loss,
      iterations: fit.iterations,
      majorityBaseline: majorityBaseline(ytr, yho, C),
    },
  };
};

/**
 * Accuracy of a trained probe on rows of (possibly other) features; unseen labels count as misses.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { probeAccuracy } from "@patchbay/readouts";
 *
 * // a one-feature probe: class 0 when x > 0, class 1 when x < 0
 * const p = { classes: [0, 1], standardizer: null, model: { W: Float64Array.of(1, -1), b: new Float64Array(2), dim: 1, classes: 2 } };
 * const f = { X: Float64Array.of(2, -3), dim: 1, group: Int32Array.of(0, 1), token: Int32Array.of(0, 0) };
 * assert.equal(probeAccuracy(p, f, [0, 1], [0, 1]), 1);
 * assert.equal(probeAccuracy(p, f, [0, 0], [0, 1]), 0.5);
 * ```
 */
export const probeAccuracy = (
  p: TrainedProbe,
  f: Features,
  labels: readonly number[],
  rows: readonly number[],
): number => {
  const X = selectRows(f.X, f.dim, rows, p.standardizer);
  const pred = predictSoftmax(p.model, X);
  if (rows.length === 0) return 0;
  let hit = 0;
  rows.forEach((i, r) => {
    if (p.classes[pred[r]!] === labels[i]) hit++;
  });
  return hit / rows.length;
};

/**
 * The probe's decision directions in the original (unstandardised) coordinates: column c of
 *   W_orig[k, c] = W[k, c] / σ_k      (z = ((x − μ)/σ)·W + b = x·W_orig + const)
 * minus the mean column (softmax is invariant to a common shift), so their span has rank ≤ C − 1.
 * Returned as C vectors of length dim.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { probeDirections } from "@patchbay/readouts";
 *
 * const p = { classes: [0, 1], standardizer: null, model: { W: Float64Array.of(3, -1), b: new Float64Array(2), dim: 1, classes: 2 } };
 * assert.deepEqual(probeDirections(p).map((d) => [...d]), [[2], [-2]]); // the columns minus their mean
 * ```
 */
export const probeDirections = (p: TrainedProbe): Float64Array[] => {
  const { W, dim: d, classes: C } = p.model;
  const cols = Array.from({ length: C }, () => new Float64Array(d));
  for (let k = 0; k < d; k++) {
    const s = p.standardizer?.std[k] ?? 1;
    let mean = 0;
    for (let c = 0; c < C; c++) mean += W[k * C + c]! / C;
    for (let c = 0; c < C; c++) cols[c]![k] = (W[k * C + c]! - mean) / s;
  }
  return cols;
};

/**
 * Probe (and control) on precomputed features: rows of `f` carry labels[i] and types[i]
 * (the control's word types, default the tokens).
 *
 * Returns `{ result, task }`: the ProbeResult and the TrainedProbe.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSessionCache } from "@patchbay/core/runtime";
 * import { inductionModel } from "@patchbay/zoo";
 * import { Effect, Schema } from "effect";
 * import { captureFeatures, fitProbe, flatLabels, prevTokenData, ProbeSpec } from "@patchbay/readouts";
 * const model = inductionModel(); // the compiled induction model: a0.h1 writes the previous token
 * const data = prevTokenData({ seed: 0, prompts: 12, length: 8, vocabSize: 32 });
 * const spec = Schema.decodeUnknownSync(ProbeSpec)({ site: "blocks.1.resid_pre", control: false });
 * const f = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.flatMap(makeSessionCache("doc", { threads: 1 }), (cache) =>
 *       captureFeatures(cache, model, ["blocks.1.resid_pre"], data),
 *     ),
 *   ),
 * ).then((m) => m.get("blocks.1.resid_pre")!);
 * const fit = fitProbe(f, flatLabels(data).labels, spec, data.prompts.length);
 * assert.ok(fit.result.task.heldOutAccuracy > 0.5); // chance is 1/31
 * ```
 */
export const fitProbe = (
  f: Features,
  labels: readonly number[],
  spec: ProbeSpec,
  nPrompts: number,
  types?: readonly number[],
): ProbeFit => {
  const refused = probeProblem(spec);
  if (refused !== null) throw refused;
  if (labels.length !== f.group.length)
    throw new InputError({
      field: "labels",
      expected: `one label per feature row (${f.group.length})`,
      found: `${labels.length}`,
    });
  const { trainRows, heldOutRows } = splitRows(f.group, nPrompts, spec.heldOutFraction, spec.seed);
  if (trainRows.length === 0 || heldOutRows.length === 0)
    throw new InputError({
      field: "data.prompts",
      expected: "enough prompts for rows on both sides of the split",
      found: `${trainRows.length} train rows, ${heldOutRows.length} held-out rows`,
    });
  const task = fitOne(f, labels, trainRows, heldOutRows, spec);
  const control = spec.control
    ? fitOne(
        f,
        controlLabels(types ?? Array.from(f.token), labels, spec.seed, spec.controlSampling),
        trainRows,
        heldOutRows,
        spec,
      ).scores
    : null;
  return {
    task: task.probe,
    trainRows,
    heldOutRows,
    result: {
      site: spec.site,
      head: spec.head ?? null,
      dim: f.dim,
      classes: task.probe.classes,
      nTrain: trainRows.length,
      nHeldOut: heldOutRows.length,
      chance: 1 / task.probe.classes.length,
      task: task.scores,
      control,
      selectivity: control === null ? null : task.scores.heldOutAccuracy - control.heldOutAccuracy,
    },
  };
};

/**
 * Row labels and types of a dataset, flattened in feature-row order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { flatLabels } from "@patchbay/readouts";
 *
 * const data = { prompts: [[0, 5, 6], [0, 7, 8]], positions: [[1, 2], [2]], labels: [[1, 2], [3]] };
 * assert.deepEqual(flatLabels(data), { labels: [1, 2, 3], types: undefined });
 * ```
 */
export const flatLabels = (data: ProbeData): { labels: number[]; types: number[] | undefined } => ({
  labels: data.labels.flat(),
  types: data.types?.flat(),
});

/**
 * The main entry: capture the site through the engine and fit the probe and its control.
 *
 * Returns a ProbeResult `{ site, dim, classes, nTrain, nHeldOut, chance, task, control, selectivity, … }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSessionCache } from "@patchbay/core/runtime";
 * import { inductionModel } from "@patchbay/zoo";
 * import { Effect, Schema } from "effect";
 * import { prevTokenData, probe, ProbeSpec } from "@patchbay/readouts";
 * const model = inductionModel(); // the compiled induction model: a0.h1 writes the previous token
 * const data = prevTokenData({ seed: 0, prompts: 12, length: 8, vocabSize: 32 });
 * const spec = Schema.decodeUnknownSync(ProbeSpec)({ site: "blocks.1.resid_pre", control: false });
 * const r = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.flatMap(makeSessionCache("doc", { threads: 1 }), (cache) =>
 *       probe(cache, model, spec, data),
 *     ),
 *   ),
 * );
 * assert.ok(r.task.heldOutAccuracy > 0.5); // chance is 1/31: the previous token is readable before layer 1
 * assert.equal(r.control, null);
 * ```
 */
export const probe = (
  cache: SessionCache,
  model: Model,
  spec: ProbeSpec,
  data: ProbeData,
): Effect.Effect<ProbeResult, InputError | RuntimeError> =>
  Effect.map(probeWithFit(cache, model, spec, data), (f) => f.result);

/**
 * As `probe`, also returning the fitted probe and the split (for erasure and reuse).
 *
 * Returns `{ result, task, features, … }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSessionCache } from "@patchbay/core/runtime";
 * import { inductionModel } from "@patchbay/zoo";
 * import { Effect, Schema } from "effect";
 * import { prevTokenData, ProbeSpec, probeWithFit } from "@patchbay/readouts";
 * const model = inductionModel(); // the compiled induction model: a0.h1 writes the previous token
 * const data = prevTokenData({ seed: 0, prompts: 12, length: 8, vocabSize: 32 });
 * const spec = Schema.decodeUnknownSync(ProbeSpec)({ site: "blocks.1.resid_pre", control: false });
 * const r = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.flatMap(makeSessionCache("doc", { threads: 1 }), (cache) =>
 *       probeWithFit(cache, model, spec, data),
 *     ),
 *   ),
 * );
 * assert.equal(r.features.dim, model.config.dModel);
 * assert.equal(r.task.classes.length, r.result.classes.length);
 * ```
 */
export const probeWithFit = (
  cache: SessionCache,
  model: Model,
  spec: ProbeSpec,
  data: ProbeData,
): Effect.Effect<ProbeFit & { readonly features: Features }, InputError | RuntimeError> =>
  Effect.gen(function* () {
    yield* checkProbeData(data);
    const feats = yield* captureFeatures(cache, model, [spec.site], data, {
      head: spec.head,
      chunkSize: spec.chunkSize,
    });
    const f = feats.get(spec.site)!;
    const { labels, types } = flatLabels(data);
    const fit = yield* attempt(() => fitProbe(f, labels, spec, data.prompts.length, types), InputError);
    return { ...fit, features: f };
  });

/**
 * One probe per site over the same dataset, from a single capture pass.
 *
 * Returns one ProbeResult per site.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSessionCache } from "@patchbay/core/runtime";
 * import { inductionModel } from "@patchbay/zoo";
 * import { Effect, Schema } from "effect";
 * import { prevTokenData, probeSites, ProbeSpec } from "@patchbay/readouts";
 * const model = inductionModel(); // the compiled induction model: a0.h1 writes the previous token
 * const data = prevTokenData({ seed: 0, prompts: 12, length: 8, vocabSize: 32 });
 * const { site: _, ...spec } = Schema.decodeUnknownSync(ProbeSpec)({ site: "embed", control: false });
 * const r = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.flatMap(makeSessionCache("doc", { threads: 1 }), (cache) =>
 *       probeSites(cache, model, spec, ["blocks.0.resid_pre", "blocks.1.resid_pre"], data),
 *     ),
 *   ),
 * );
 * // the previous token is not in the embedding of a position, but a0.h1 writes it
 * assert.ok(r[0]!.task.heldOutAccuracy < r[1]!.task.heldOutAccuracy);
 * ```
 */
export const probeSites = (
  cache: SessionCache,
  model: Model,
  spec: Omit<ProbeSpec, "site">,
  sites: readonly string[],
  data: ProbeData,
): Effect.Effect<ProbeResult[], InputError | RuntimeError> =>
  Effect.gen(function* () {
    yield* checkProbeData(data);
    const feats = yield* captureFeatures(cache, model, sites, data, {
      head: spec.head,
      chunkSize: spec.chunkSize,
    });
    const { labels, types } = flatLabels(data);
    return yield* attempt(
      () =>
        sites.map(
          (site) => fitProbe(feats.get(site)!, labels, { ...spec, site }, data.prompts.length, types).result,
        ),
      InputError,
    );
  });
