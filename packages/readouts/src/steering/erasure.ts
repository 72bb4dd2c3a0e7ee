import { attempt, InputError, type RuntimeError } from "@patchbay/core/errors";
import { lookupSite } from "@patchbay/core/sites";
import type { Model } from "@patchbay/core/model";
import type { SessionCache } from "@patchbay/core/runtime";
import { Effect } from "effect";
import { captureFeatures, checkProbeData, type Features } from "../probing/dataset.ts";
import { indexClasses } from "../probing/features.ts";
import { fitProbe, flatLabels, probeAccuracy, probeDirections } from "../probing/probe.ts";
import type { ProbeData, ProbeResult } from "../probing/spec.ts";
import type { ErasureSpec } from "./spec.ts";

/**
 * Linear erasure of a concept: find directions that carry it (class means or the probe's
 * weights), orthonormalise them into Q [D, k], run the prompts again through the engine with a
 * `project-out` intervention at the probed site and positions,
 *   x′ = x − (x·Q)Qᵀ,
 * capture the site after it, and measure (1) the old probe on the erased activations and (2) a
 * fresh probe retrained on them (the stronger test: the old probe failing only shows that its own
 * directions are gone).
 */

/**
 * Modified Gram–Schmidt, applied twice for stability, in float64: an orthonormal basis of
 * span(vectors), dropping vectors whose residual is below tol·(largest input norm).
 * Returns k vectors of length D.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { orthonormalize } from "@patchbay/readouts";
 *
 * const q = orthonormalize([Float64Array.of(3, 0), Float64Array.of(1, 1), Float64Array.of(2, 2)]);
 * assert.equal(q.length, 2); // the span is the plane; the third vector adds nothing
 * assert.deepEqual([...q[0]!], [1, 0]);
 * ```
 */
export const orthonormalize = (
  vectors: readonly Float64Array[],
  tol = 1e-8,
  maxRank = Infinity,
): Float64Array[] => {
  const scale = Math.max(0, ...vectors.map((v) => Math.sqrt(v.reduce((a, x) => a + x * x, 0))));
  const basis: Float64Array[] = [];
  if (scale === 0) return basis;
  for (const v0 of vectors) {
    if (basis.length >= maxRank) break;
    const v = Float64Array.from(v0);
    for (let pass = 0; pass < 2; pass++)
      for (const q of basis) {
        let d = 0;
        for (let i = 0; i < v.length; i++) d += v[i]! * q[i]!;
        for (let i = 0; i < v.length; i++) v[i]! -= d * q[i]!;
      }
    const n = Math.sqrt(v.reduce((a, x) => a + x * x, 0));
    if (n > tol * scale) basis.push(v.map((x) => x / n));
  }
  return basis;
};

/**
 * μ_c − μ̄ [D] for each class c over the given rows (μ̄ the mean of all those rows).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { classMeanDirections } from "@patchbay/readouts";
 *
 * const f = { X: Float64Array.of(1, 0, 3, 0), dim: 2, group: Int32Array.of(0, 1), token: Int32Array.of(0, 0) };
 * const dirs = classMeanDirections(f, [0, 1], [0, 1]);
 * assert.deepEqual(dirs.map((d) => [...d]), [[-1, 0], [1, 0]]); // μ_c − μ̄
 * ```
 */
export const classMeanDirections = (
  f: Features,
  labels: readonly number[],
  rows: readonly number[],
): Float64Array[] => {
  const { classes, y } = indexClasses(rows.map((i) => labels[i]!));
  const d = f.dim;
  const sums = classes.map(() => new Float64Array(d));
  const counts = new Float64Array(classes.length);
  const all = new Float64Array(d);
  rows.forEach((i, r) => {
    const c = y[r]!;
    counts[c]!++;
    for (let k = 0; k < d; k++) {
      sums[c]![k]! += f.X[i * d + k]!;
      all[k]! += f.X[i * d + k]!;
    }
  });
  return sums.map((s, c) => s.map((x, k) => x / counts[c]! - all[k]! / rows.length));
};

/**
 * Q [D, k] row-major (float32, as the engine binds it) from k orthonormal vectors of length D.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { basisTensor } from "@patchbay/readouts";
 *
 * const t = basisTensor([Float64Array.of(1, 0, 0), Float64Array.of(0, 1, 0)], 3);
 * assert.deepEqual(t.shape, [3, 2]);
 * assert.deepEqual([...t.data], [1, 0, 0, 1, 0, 0]);
 * ```
 */
export const basisTensor = (
  basis: readonly Float64Array[],
  D: number,
): { data: Float32Array; shape: number[] } => {
  const k = basis.length;
  const data = new Float32Array(D * k);
  basis.forEach((q, j) => {
    for (let i = 0; i < D; i++) data[i * k + j] = q[i]!;
  });
  return { data, shape: [D, k] };
};

export interface ErasureResult {
  readonly site: string;
  readonly direction: "class-means" | "probe";
  /** k, the rank erased, and Q's columns (k vectors of length D). */
  readonly rank: number;
  readonly basis: readonly (readonly number[])[];
  /** The probe (and control) on the clean activations. */
  readonly before: ProbeResult;
  /** The clean probe applied unchanged to the erased activations. */
  readonly oldProbeOnErased: { readonly trainAccuracy: number; readonly heldOutAccuracy: number };
  /** A fresh probe (same spec, same split) trained and scored on the erased activations. */
  readonly after: ProbeResult;
  /** max_c ‖μ_c − μ̄‖ over training rows, before and after (0 after a class-means erasure, up to float32). */
  readonly classMeanGap: { readonly before: number; readonly after: number };
}

const gap = (f: Features, labels: readonly number[], rows: readonly number[]): number =>
  Math.max(
    0,
    ...classMeanDirections(f, labels, rows).map((v) => Math.sqrt(v.reduce((a, x) => a + x * x, 0))),
  );

/**
 * Erased features of a dataset: the site captured after x′ = x − (x·Q)Qᵀ at the probed positions.
 *
 * Returns Features `{ X, dim, group, token }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSessionCache } from "@patchbay/core/runtime";
 * import { inductionModel } from "@patchbay/zoo";
 * import { Effect, Schema } from "effect";
 * import { erasedFeatures, prevTokenData } from "@patchbay/readouts";
 * const model = inductionModel(); // the compiled induction model: a0.h1 writes the previous token
 * const data = prevTokenData({ seed: 0, prompts: 12, length: 8, vocabSize: 32 });
 * const e0 = new Float64Array(model.config.dModel);
 * e0[0] = 1; // erase one coordinate
 * const r = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.flatMap(makeSessionCache("doc", { threads: 1 }), (cache) =>
 *       erasedFeatures(cache, model, "blocks.1.resid_pre", undefined, [e0], data),
 *     ),
 *   ),
 * );
 * assert.ok(r.X.every((x, i) => i % r.dim !== 0 || Math.abs(x) < 1e-6));
 * ```
 */
export const erasedFeatures = (
  cache: SessionCache,
  model: Model,
  site: string,
  head: number | undefined,
  basis: readonly Float64Array[],
  data: Pick<ProbeData, "prompts" | "positions">,
  chunkSize = 32,
): Effect.Effect<Features, InputError | RuntimeError> =>
  Effect.gen(function* () {
    const D = basis[0]?.length ?? 0;
    if (basis.length === 0)
      return yield* new InputError({
        field: "basis",
        expected: "at least one direction to erase",
        found: "none",
      });
    const Q = basisTensor(basis, D);
    const feats = yield* captureFeatures(cache, model, [site], data, {
      head,
      chunkSize,
      interventionsFor: (start, end) => ({
        interventions: [
          {
            _tag: "project-out",
            target: {
              site,
              positions: data.positions.slice(start, end),
              ...(head !== undefined ? { heads: [head] } : {}),
            },
            rank: basis.length,
          },
        ],
        values: { interventions: [{ basis: Q }] },
      }),
    });
    return feats.get(site)!;
  });

/**
 * The main entry: probe, erase through the engine, probe again.
 *
 * Returns `{ site, direction, rank, basis, before, after, oldProbeOnErased, … }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSessionCache } from "@patchbay/core/runtime";
 * import { inductionModel } from "@patchbay/zoo";
 * import { Effect, Schema } from "effect";
 * import { erase, ErasureSpec, prevTokenData } from "@patchbay/readouts";
 * const model = inductionModel(); // the compiled induction model: a0.h1 writes the previous token
 * const data = prevTokenData({ seed: 0, prompts: 12, length: 8, vocabSize: 32 });
 * const spec = Schema.decodeUnknownSync(ErasureSpec)({ probe: { site: "blocks.1.resid_pre", control: false } });
 * const r = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.flatMap(makeSessionCache("doc", { threads: 1 }), (cache) =>
 *       erase(cache, model, spec, data),
 *     ),
 *   ),
 * );
 * assert.ok(r.before.task.heldOutAccuracy > 0.5); // chance is 1/31
 * assert.ok(r.oldProbeOnErased.heldOutAccuracy < 0.3); // the old probe no longer reads the erased features
 * ```
 */
export const erase = (
  cache: SessionCache,
  model: Model,
  spec: ErasureSpec,
  data: ProbeData,
): Effect.Effect<ErasureResult, InputError | RuntimeError> =>
  Effect.gen(function* () {
    const ps = spec.probe;
    const r = lookupSite(model.config, ps.site);
    if (r.ok) {
      const dims = r.site.dims;
      const rowIsLastAxis = ps.head !== undefined ? dims.length === 4 : dims.length === 3;
      if (!rowIsLastAxis)
        return yield* new InputError({
          field: "probe.site",
          expected:
            "a site whose probed row is its last axis ([batch, pos, d], or [batch, pos, head, d] with probe.head), since project-out acts on the last axis",
          found: `${r.site.name} [${dims.join(", ")}]`,
        });
    }
    yield* checkProbeData(data);
    const clean = (yield* captureFeatures(cache, model, [ps.site], data, {
      head: ps.head,
      chunkSize: ps.chunkSize,
    })).get(ps.site)!;
    const { labels, types } = flatLabels(data);
    const before = yield* attempt(() => fitProbe(clean, labels, ps, data.prompts.length, types), InputError);
    const dirs =
      spec.direction === "class-means"
        ? classMeanDirections(clean, labels, before.trainRows)
        : probeDirections(before.task);
    const basis = orthonormalize(dirs, 1e-8, spec.maxRank ?? Infinity);
    const erased = yield* erasedFeatures(cache, model, ps.site, ps.head, basis, data, ps.chunkSize);
    const after = yield* attempt(() => fitProbe(erased, labels, ps, data.prompts.length, types), InputError);
    return {
      site: ps.site,
      direction: spec.direction,
      rank: basis.length,
      basis: basis.map((q) => Array.from(q)),
      before: before.result,
      oldProbeOnErased: {
        trainAccuracy: probeAccuracy(before.task, erased, labels, before.trainRows),
        heldOutAccuracy: probeAccuracy(before.task, erased, labels, before.heldOutRows),
      },
      after: after.result,
      classMeanGap: {
        before: gap(clean, labels, before.trainRows),
        after: gap(erased, labels, before.trainRows),
      },
    };
  });
