import { Effect } from "effect";
import { InputError, type RuntimeError } from "../errors/index.ts";
import type { Model, ModelConfig } from "../model/index.ts";
import { dimSizes, lookupSite, type SiteInfo } from "../model/sites.ts";
import { forward, type SessionCache } from "../runtime/index.ts";
import { type HostTensor, numel } from "../tensor/index.ts";

/**
 * Dataset-level sources of patch values: means (for mean ablation), and per-example values from
 * other runs (resample ablation, interchange). Large datasets run in chunks of `chunkSize`
 * sequences, so memory is bounded by one chunk's capture plus the running sums.
 */

export interface MeanOptions {
  /** Keep one mean per position (mean-positional ablation) instead of one over all positions. */
  readonly perPosition: boolean;
  readonly chunkSize?: number;
}

/**
 * The mean of a site over a dataset.
 *   per position:  μ[p, …] = (1/N_p) Σ_{b : len_b > p} x[b, p, …]     shape [max_len, …rest]
 *   pooled:        μ[…]    = (1/Σ_b len_b) Σ_b Σ_{p < len_b} x[b, p, …]  shape [...rest]
 * Padding positions never count. Sites with a key_pos axis (scores, pattern) need equal lengths.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Engine, Runtime } from "@patchbay/core";
 * import "@patchbay/zoo";
 * import { Effect } from "effect";
 *
 * const [pooled, perPosition] = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.gen(function* () {
 *       const model = yield* Runtime.openModel("builtin:induction");
 *       const dataset = [[0, 1, 2, 3], [0, 4, 5]];
 *       const site = "blocks.0.resid_pre";
 *       return yield* Effect.all([
 *         Engine.siteMean(model.sessions, model, site, dataset, { perPosition: false }),
 *         Engine.siteMean(model.sessions, model, site, dataset, { perPosition: true }),
 *       ]);
 *     }),
 *   ),
 * );
 * assert.deepEqual(pooled.shape, [136]); // [d_model]
 * assert.deepEqual(perPosition.shape, [4, 136]); // [longest sequence, d_model]
 * ```
 */
export const siteMean = (
  cache: SessionCache,
  model: Model,
  site: string,
  dataset: readonly (readonly number[])[],
  opts: MeanOptions,
): Effect.Effect<HostTensor, InputError | RuntimeError> =>
  Effect.map(siteMeans(cache, model, [site], dataset, opts), (m) => m.get(site)!);

/**
 * The means of several sites over a dataset, from one capture run per chunk (see siteMean).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Engine, Runtime } from "@patchbay/core";
 * import "@patchbay/zoo";
 * import { Effect } from "effect";
 *
 * const means = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.gen(function* () {
 *       const model = yield* Runtime.openModel("builtin:induction");
 *       const sites = ["blocks.0.attn_out", "blocks.1.attn.z"];
 *       return yield* Engine.siteMeans(model.sessions, model, sites, [[0, 1, 2], [0, 3, 4]], { perPosition: false });
 *     }),
 *   ),
 * );
 * assert.deepEqual(means.get("blocks.1.attn.z")?.shape, [4, 32]); // [head, d_head]
 * ```
 */
export const siteMeans = (
  cache: SessionCache,
  model: Model,
  sites: readonly string[],
  dataset: readonly (readonly number[])[],
  opts: MeanOptions,
): Effect.Effect<Map<string, HostTensor>, InputError | RuntimeError> =>
  Effect.gen(function* () {
    const infos: SiteInfo[] = [];
    for (const site of sites) {
      const info = lookupSite(model.config, site);
      if (!info.ok) {
        return yield* new InputError({
          field: `site ${JSON.stringify(site)}`,
          expected: `a site; nearest: ${info.suggestions.join(", ")}`,
          found: "no such site",
        });
      }
      const dims = info.site.dims;
      if (dims[0] !== "batch" || dims[1] !== "pos") {
        return yield* new InputError({
          field: `site ${site}`,
          expected: "a site of shape [batch, pos, …] for a dataset mean",
          found: `[${dims.join(", ")}]`,
        });
      }
      infos.push(info.site);
    }
    if (dataset.length === 0)
      return yield* new InputError({ field: "dataset", expected: "at least one sequence", found: "none" });
    const maxLen = Math.max(...dataset.map((s) => s.length));
    const chunk = opts.chunkSize ?? 32;
    const sums: (Float64Array | null)[] = sites.map(() => null);
    const rests = sites.map(() => 0);
    const counts = new Float64Array(maxLen);
    for (let start = 0; start < dataset.length; start += chunk) {
      const seqs = dataset.slice(start, start + chunk);
      const out = yield* forward(cache, model, seqs, sites);
      sites.forEach((site, k) => {
        const x = out.sites.get(site)!; //                             [b, P, …rest]
        const [B, P] = x.shape as [number, number];
        const rest = numel(x.shape.slice(2));
        rests[k] = rest;
        sums[k] ??= new Float64Array(maxLen * rest);
        const sum = sums[k]!;
        for (let b = 0; b < B; b++)
          for (let p = 0; p < out.lengths[b]!; p++) {
            const src = (b * P + p) * rest;
            for (let i = 0; i < rest; i++) sum[p * rest + i]! += x.data[src + i]!;
          }
      });
      for (let b = 0; b < seqs.length; b++) for (let p = 0; p < out.lengths[b]!; p++) counts[p]! += 1;
    }
    const total = counts.reduce((a, b) => a + b, 0);
    const means = new Map<string, HostTensor>();
    sites.forEach((site, k) => {
      const rest = rests[k]!;
      const sum = sums[k]!;
      const restShape = siteShapeOf(model.config, infos[k]!.dims.slice(2));
      if (opts.perPosition) {
        const mean = new Float32Array(maxLen * rest);
        for (let p = 0; p < maxLen; p++)
          for (let i = 0; i < rest; i++) mean[p * rest + i] = sum[p * rest + i]! / counts[p]!;
        means.set(site, { data: mean, shape: [maxLen, ...restShape] });
      } else {
        const mean = new Float32Array(rest);
        for (let p = 0; p < maxLen; p++)
          for (let i = 0; i < rest; i++) mean[i]! += sum[p * rest + i]! / total;
        means.set(site, { data: mean, shape: restShape });
      }
    });
    return means;
  });

const siteShapeOf = (c: ModelConfig, dims: readonly string[]): number[] => {
  const sizes = dimSizes(c, 0, 0);
  return dims.map((d) => sizes[d]!);
};

/**
 * A replacement value P [batch, pos, …rest] that puts a mean everywhere: the pooled mean [rest]
 * at every (b, p), or the per-position mean [max_len, rest] at (b, p) for p < max_len.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { meanPatch } from "@patchbay/core/engine";
 *
 * const mean = { data: new Float32Array([1, 2]), shape: [2] }; // a pooled mean over d = 2
 * const patch = meanPatch(mean, false, 3, 4); // for a batch of 3 sequences of 4 positions
 * assert.deepEqual(patch.shape, [3, 4, 2]);
 * assert.deepEqual([...patch.data.slice(-2)], [1, 2]);
 * ```
 */
export const meanPatch = (mean: HostTensor, perPosition: boolean, batch: number, pos: number): HostTensor => {
  const rest = perPosition ? mean.shape.slice(1) : mean.shape;
  const r = numel(rest);
  if (perPosition && mean.shape[0]! < pos) {
    throw new InputError({
      field: "mean",
      expected: `a per-position mean covering ${pos} positions`,
      found: `${mean.shape[0]} positions (the dataset's longest sequence)`,
    });
  }
  const out = new Float32Array(batch * pos * r);
  for (let b = 0; b < batch; b++)
    for (let p = 0; p < pos; p++)
      out.set(mean.data.subarray(perPosition ? p * r : 0, (perPosition ? p * r : 0) + r), (b * pos + p) * r);
  return { data: out, shape: [batch, pos, ...rest] };
};

/**
 * Interchange values: P[b, base_b[i]] = source[b, source_b[i]] for every pair i of example b; the
 * intervention targets positions base_b. Prompts may differ in length and layout, so each example
 * names its own pairs.
 *   base shape    [batch, pos_base, …rest]  (only its shape is used)
 *   source        [batch, pos_source, …rest]
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { interchangePatch } from "@patchbay/core/engine";
 *
 * // one example; the source's position 0 goes to the base's position 2 (d = 1)
 * const source = { data: new Float32Array([7, 8]), shape: [1, 2, 1] };
 * const patch = interchangePatch([1, 3, 1], source, [[2]], [[0]]);
 * assert.deepEqual([...patch.data], [0, 0, 7]);
 * ```
 */
export const interchangePatch = (
  baseShape: readonly number[],
  source: HostTensor,
  basePositions: readonly (readonly number[])[],
  sourcePositions: readonly (readonly number[])[],
): HostTensor => {
  const [B, Pb] = baseShape as [number, number];
  const Ps = source.shape[1]!;
  const r = numel(baseShape.slice(2));
  if (source.shape[0] !== B || numel(source.shape.slice(2)) !== r) {
    throw new InputError({
      field: "source",
      expected: `[${B}, pos, ${baseShape.slice(2).join(", ")}]`,
      found: `[${source.shape.join(", ")}]`,
    });
  }
  const out = new Float32Array(B * Pb * r);
  for (let b = 0; b < B; b++) {
    const bp = basePositions[b] ?? [];
    const sp = sourcePositions[b] ?? [];
    if (bp.length !== sp.length) {
      throw new InputError({
        field: `sourcePositions[${b}]`,
        expected: `${bp.length} positions, one per base position`,
        found: `${sp.length}`,
      });
    }
    bp.forEach((p, i) => {
      const q = sp[i]!;
      if (!(q >= 0 && q < Ps))
        throw new InputError({
          field: `sourcePositions[${b}][${i}]`,
          expected: `a position in [0, ${Ps})`,
          found: String(q),
        });
      if (!(p >= 0 && p < Pb))
        throw new InputError({
          field: `basePositions[${b}][${i}]`,
          expected: `a position in [0, ${Pb})`,
          found: String(p),
        });
      out.set(source.data.subarray((b * Ps + q) * r, (b * Ps + q + 1) * r), (b * Pb + p) * r);
    });
  }
  return { data: out, shape: [...baseShape] };
};

/**
 * Resample ablation values: example b takes the site's value from source example perm[b]
 * (a run on corrupted inputs of the same layout). Source and base must have the same length.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resamplePatch } from "@patchbay/core/engine";
 *
 * const source = { data: new Float32Array([1, 2, 3]), shape: [3, 1] }; // a site's value on 3 corrupted runs
 * assert.deepEqual([...resamplePatch(source, [2, 0, 1]).data], [3, 1, 2]);
 * ```
 */
export const resamplePatch = (source: HostTensor, perm: readonly number[]): HostTensor => {
  const B = source.shape[0]!;
  const r = numel(source.shape.slice(1));
  const out = new Float32Array(perm.length * r);
  perm.forEach((s, b) => {
    if (!(Number.isInteger(s) && s >= 0 && s < B))
      throw new InputError({
        field: `perm[${b}]`,
        expected: `an example index in [0, ${B})`,
        found: String(s),
      });
    out.set(source.data.subarray(s * r, (s + 1) * r), b * r);
  });
  return { data: out, shape: [perm.length, ...source.shape.slice(1)] };
};
