import { Effect } from "effect";
import { attempt, InputError, type RuntimeError } from "@patchbay/core/errors";
import { type Model, type ModelConfig, mulberry32 } from "@patchbay/core/model";
import { lookupSite, siteShape } from "@patchbay/core/sites";
import { plan, runPlan } from "@patchbay/core/engine";
import type { SessionCache } from "@patchbay/core/runtime";
import { type ActivationRecord, maxActivation, type NeuronRecord } from "./format.ts";
import { type RecordsSpec, recordsProblem } from "./spec.ts";
import { binOf, MomentAccumulator, quantileBoundaries, sampleWithoutReplacement } from "./stats.ts";

/** The prompts to scan, and optionally how each token is shown (default: its id as a string). */
export interface RecordsData {
  /** [n_prompts][len_i] token ids. */
  readonly prompts: readonly (readonly number[])[];
  /** [n_prompts][len_i] token strings, as the explainer will see them. */
  readonly tokens?: readonly (readonly string[])[];
}

/** Where a record's window came from. */
export interface WindowSource {
  readonly prompt: number;
  /** First position of the window in the prompt. */
  readonly start: number;
  /** Position of the prompt's maximum (top and quantile records), or null (random records). */
  readonly maxPosition: number | null;
}

export interface RecordsMeta {
  /** Canonical site name and the flattened index of the neuron in its trailing axes. */
  readonly site: string;
  readonly index: number;
  readonly window: number;
  readonly before: number;
  readonly prompts: number;
  readonly tokens: number;
  /** Over every real token of the dataset (float64; population moments). */
  readonly stdev: number;
  readonly min: number;
  readonly max: number;
  /** neuron-explainer's max_activation: the largest ReLU'd activation over the top records. */
  readonly maxActivation: number;
  readonly top: readonly WindowSource[];
  readonly random: readonly WindowSource[];
  readonly byQuantile: readonly (readonly WindowSource[])[] | null;
}

export interface RecordsResult {
  /** In neuron-explainer's layout: `neuronRecordToJson(record)` is the file it reads. */
  readonly record: NeuronRecord;
  readonly meta: RecordsMeta;
}

/**
 * A window of `w` tokens holding position p at offset `before` when the prompt allows it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { windowStart } from "@patchbay/readouts";
 *
 * assert.equal(windowStart(10, 20, 4, 3), 7); // positions 7 … 10: p at offset 3
 * assert.equal(windowStart(1, 20, 4, 3), 0); // clamped at the start of the prompt
 * ```
 */
export const windowStart = (p: number, len: number, w: number, before: number): number =>
  Math.max(0, Math.min(p - before, len - w));

/**
 * The default offset of the maximum inside a window: w − 1 − ⌊w/4⌋.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultBefore } from "@patchbay/readouts";
 *
 * assert.equal(defaultBefore(16), 11);
 * ```
 */
export const defaultBefore = (w: number): number => w - 1 - Math.floor(w / 4);

/**
 * Scan `data.prompts` through the engine (one compiled plan capturing `spec.site`, no logits, run
 * in chunks of `spec.chunkSize` prompts), read neuron `spec.index` at every real token, and
 * collect neuron-explainer's NeuronRecord:
 *   - most_positive_activation_records: the `topK` prompts with the largest maximum
 *     max_p a[i, p] (ties: lower prompt index first), each as the window around its maximum;
 *   - random_sample: `randomK` prompts drawn without replacement (mulberry32(seed)), each with a
 *     window start uniform over [0, len − window];
 *   - quantile_boundaries / random_sample_by_quantile: `quantiles` equal-mass bins of the
 *     per-prompt maximum, up to `perQuantile` prompts drawn from each (window around the max);
 *   - mean, variance, skewness, kurtosis over every real token (stats.ts).
 * Deterministic given the spec (seed included).
 *
 * Returns `{ record, meta }`: the NeuronRecord (top records, random sample, quantile bins, moments) and how it was collected.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSessionCache } from "@patchbay/core/runtime";
 * import { inductionModel, inductionTask } from "@patchbay/zoo";
 * import { Effect, Schema } from "effect";
 * import { neuronRecords, RecordsSpec } from "@patchbay/readouts";
 * const model = inductionModel();
 * const prompts = inductionTask(0, 8, { blockLen: 4 }).clean;
 * // "neuron" 3 of the residual stream after layer 0, over every token of the prompts
 * const spec = Schema.decodeUnknownSync(RecordsSpec)({ site: "blocks.0.resid_post", index: 3, topK: 4, randomK: 2, window: 6 });
 * const r = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.flatMap(makeSessionCache("doc", { threads: 1 }), (cache) =>
 *       neuronRecords(cache, model, spec, { prompts }),
 *     ),
 *   ),
 * );
 * const top = r.record.mostPositiveActivationRecords;
 * assert.equal(top.length, 4);
 * assert.ok(top[0]!.tokens.length <= 6);
 * ```
 */
export const neuronRecords = (
  cache: SessionCache,
  model: Model,
  spec: RecordsSpec,
  data: RecordsData,
): Effect.Effect<RecordsResult, InputError | RuntimeError> =>
  Effect.gen(function* () {
    const c = model.config;
    const refused = recordsProblem(spec);
    if (refused !== null) return yield* refused;
    const { site, width } = yield* attempt(() => resolveNeuron(c, spec), InputError);
    const n = data.prompts.length;
    if (n === 0)
      return yield* new InputError({ field: "data.prompts", expected: "at least one prompt", found: "none" });
    if (data.tokens !== undefined) {
      const bad = data.tokens.findIndex((t, i) => t.length !== data.prompts[i]?.length);
      if (bad >= 0 || data.tokens.length !== n)
        return yield* new InputError({
          field: bad >= 0 ? `data.tokens[${bad}]` : "data.tokens",
          expected: "one token string per token id of data.prompts",
          found:
            bad >= 0
              ? `${data.tokens[bad]!.length} strings for ${data.prompts[bad]!.length} ids`
              : `${data.tokens.length} prompts`,
        });
    }
    const capture = plan({ captures: [site], logits: false });

    // acts[i]: [len_i] the neuron's activation at each real token of prompt i.
    const acts: Float32Array[] = [];
    const moments = new MomentAccumulator();
    for (let s = 0; s < n; s += spec.chunkSize) {
      const chunk = data.prompts.slice(s, Math.min(n, s + spec.chunkSize));
      const r = yield* runPlan(cache, model, capture, chunk);
      const t = r.sites.get(site)!; // [b, P, …trailing] flattened to [b, P, width]
      const P = t.shape[1]!;
      for (let b = 0; b < chunk.length; b++) {
        const len = r.lengths[b]!;
        const a = new Float32Array(len);
        for (let p = 0; p < len; p++) {
          const x = t.data[(b * P + p) * width + spec.index]!;
          if (!Number.isFinite(x))
            return yield* new InputError({
              field: `${site}[${spec.index}] at prompt ${s + b}, position ${p}`,
              expected: "a finite activation",
              found: String(x),
            });
          a[p] = x;
          moments.push(x);
        }
        acts.push(a);
      }
    }

    const tokensOf = (i: number): readonly string[] =>
      data.tokens?.[i] ?? data.prompts[i]!.map((id) => String(id));
    const W = spec.window;
    const before = spec.before ?? defaultBefore(W);
    const argmax = acts.map((a) => {
      let best = 0;
      for (let p = 1; p < a.length; p++) if (a[p]! > a[best]!) best = p;
      return best;
    });
    const maxOf = acts.map((a, i) => a[argmax[i]!]!);
    const windowAt = (i: number, start: number): ActivationRecord => {
      const end = Math.min(acts[i]!.length, start + W);
      return {
        tokens: tokensOf(i).slice(start, end),
        activations: Array.from(acts[i]!.subarray(start, end)),
      };
    };
    const aroundMax = (i: number): { record: ActivationRecord; source: WindowSource } => {
      const start = windowStart(argmax[i]!, acts[i]!.length, W, before);
      return { record: windowAt(i, start), source: { prompt: i, start, maxPosition: argmax[i]! } };
    };

    // Top: prompts by their maximum, descending; ties by index (a stable sort keeps them).
    const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => maxOf[y]! - maxOf[x]!);
    const top = order.slice(0, spec.topK).map(aroundMax);

    const uniform = mulberry32(spec.seed);
    const random = sampleWithoutReplacement(n, spec.randomK, uniform).map((i) => {
      const len = acts[i]!.length;
      const start = len > W ? Math.floor(uniform() * (len - W + 1)) : 0;
      return { record: windowAt(i, start), source: { prompt: i, start, maxPosition: null } };
    });

    let boundaries: number[] | null = null;
    let byQuantile: { record: ActivationRecord; source: WindowSource }[][] | null = null;
    if (spec.quantiles > 0) {
      boundaries = quantileBoundaries(maxOf, spec.quantiles);
      const bins: number[][] = Array.from({ length: spec.quantiles }, () => []);
      for (const [i, m] of maxOf.entries()) bins[binOf(m, boundaries)]!.push(i);
      byQuantile = bins.map((members) =>
        sampleWithoutReplacement(members.length, spec.perQuantile, uniform).map((k) =>
          aroundMax(members[k]!),
        ),
      );
    }

    const m = moments.result();
    const topRecords = top.map((x) => x.record);
    const record: NeuronRecord = {
      neuronId: { layerIndex: spec.layerIndex ?? layerOf(c, site), neuronIndex: spec.index },
      randomSample: random.map((x) => x.record),
      randomSampleByQuantile: byQuantile === null ? null : byQuantile.map((q) => q.map((x) => x.record)),
      quantileBoundaries: boundaries,
      mean: m.mean,
      variance: m.variance,
      skewness: m.skewness,
      kurtosis: m.kurtosis,
      mostPositiveActivationRecords: topRecords,
    };
    return {
      record,
      meta: {
        site,
        index: spec.index,
        window: W,
        before,
        prompts: n,
        tokens: m.n,
        stdev: m.stdev,
        min: m.min,
        max: m.max,
        maxActivation: maxActivation(topRecords),
        top: top.map((x) => x.source),
        random: random.map((x) => x.source),
        byQuantile: byQuantile === null ? null : byQuantile.map((q) => q.map((x) => x.source)),
      },
    };
  });

/** The canonical site and the width of its flattened trailing axes; InputErrors name the field. */
const resolveNeuron = (c: ModelConfig, spec: RecordsSpec): { site: string; width: number } => {
  const r = lookupSite(c, spec.site);
  if (!r.ok)
    throw new InputError({
      field: "spec.site",
      expected: `a site of ${c.name}; nearest: ${r.suggestions.join(", ")}`,
      found: JSON.stringify(spec.site),
    });
  if (r.site.dims[0] !== "batch" || r.site.dims[1] !== "pos")
    throw new InputError({
      field: "spec.site",
      expected: "a site with axes [batch, pos, …] (one value per token)",
      found: `${r.site.name} [${r.site.dims.join(", ")}]`,
    });
  const width = siteShape(r.site, c, 1, 1)
    .slice(2)
    .reduce((a, b) => a * b, 1);
  if (spec.index >= width)
    throw new InputError({
      field: "spec.index",
      expected: `a neuron index in [0, ${width}) of ${r.site.name}`,
      found: String(spec.index),
    });
  return { site: r.site.name, width };
};

const layerOf = (c: ModelConfig, site: string): number => {
  const r = lookupSite(c, site);
  return r.ok && r.site.layer !== null ? r.site.layer : -1;
};
