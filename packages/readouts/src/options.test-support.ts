import {
  gpt2SmallConfig,
  type Model as CoreModel,
  type ModelConfig,
  mulberry32,
  randomWeights,
} from "@patchbay/core/model";
import type { SessionCache } from "@patchbay/core/runtime";
import type { Tokenizer } from "@patchbay/core/tokenizer";
import { Effect, Schema } from "effect";
import {
  AttentionSpec,
  attentionPatterns,
  DlaSpec,
  directLogitAttribution,
  InputAttributionSpec,
  inputAttribution,
} from "./attribution/index.ts";
import { evaluateLens, LensEvalSpec, TunedLensTrainSpec, trainTunedLens } from "./lens/index.ts";
import {
  explainSimulateScore,
  neuronRecords,
  RecordsSpec,
  ruleBasedExplainer,
  ruleBasedSimulator,
  ScoreSpec,
} from "./neurons/index.ts";
import { PatchscopeSpec, patchscopeSweep, runPatchscope, SweepSpec } from "./patchscopes/index.ts";
import { ProbeSpec, prevTokenData, probe } from "./probing/index.ts";
import {
  FeatureAttributionSpec,
  FeatureCircuitSpec,
  featureAttribution,
  featureCircuit,
  runSae,
  SaeSpec,
  saeFromArtifact,
} from "./sae/index.ts";
import { ErasureSpec, erase, SteeringSpec, steer } from "./steering/index.ts";

/**
 * The methods of the option audit (options.test.ts): for each, the library Schema of its spec
 * (with its refusals), a base spec, how it runs on fixed data, and which part of its result is
 * computed (echoes of the spec, such as a site name or IG's step count, are left out, so a
 * "changes" row cannot pass by echoing). The model is small and random (learned positions,
 * LayerNorm, an MLP): random weights have no exact zeros, so an option that is read shows.
 */
const config = (overrides: Partial<ModelConfig> = {}): ModelConfig => ({
  ...gpt2SmallConfig,
  name: "audit",
  nLayers: 2,
  nHeads: 2,
  nKvHeads: 2,
  dHead: 4,
  dModel: 12,
  dMlp: 16,
  vocabSize: 24,
  nCtx: 16,
  ...overrides,
});
export type Model = CoreModel & { readonly tokenizer?: Tokenizer | null };
const withWeights = (c: ModelConfig, seed: number): Model => ({ config: c, weights: randomWeights(c, seed) });
export const model = withWeights(config(), 5);
export const attentionOnly = withWeights(config({ name: "audit-attn-only", dMlp: null }), 6);

const rand = mulberry32(11);
const tok = () => Math.floor(rand() * 24);
const prompt = (n: number) => Array.from({ length: n }, tok);
const prompts = (k: number, n: number) => Array.from({ length: k }, () => prompt(n));

const lensPrompts = prompts(16, 6);
const examples = prompts(3, 6).map((ids) => ({
  ids,
  positions: [4, 5],
  answers: [tok(), tok()],
  wrong: [tok(), tok()],
  reference: [0, 1].map(() => Array.from({ length: 24 }, () => 2 * (rand() - 0.5))),
  baseline: prompt(6),
}));
const slots = {
  prompts: examples.map((e) => e.ids),
  positions: examples.map((e) => e.positions),
  answers: examples.map((e) => e.answers),
  wrong: examples.map((e) => e.wrong),
};
const probeData = prevTokenData({ seed: 3, prompts: 16, length: 8, vocabSize: 24 });
const contrasts = {
  positive: prompts(4, 5),
  negative: prompts(4, 5),
  targets: prompts(3, 5),
  answers: [[1], [2], [3]],
  wrong: [[4], [5], [6]],
};
const pairs = { clean: prompts(4, 6), corrupted: prompts(4, 6) };
const pairMetric = {
  positions: pairs.clean.map(() => [5]),
  answers: [[1], [2], [3], [4]],
  wrong: [[5], [6], [7], [8]],
};

/** A method's typed failures (InputError, RuntimeError, the neuron models' ModelResponseError). */
type Failure = { readonly _tag: string; readonly message: string };
type Run = (cache: SessionCache, spec: never) => Effect.Effect<unknown, Failure>;
export interface Audited {
  readonly schema: Schema.Schema<unknown, unknown>;
  readonly base: Readonly<Record<string, unknown>>;
  readonly run: Run;
  /** the computed part of a result */
  readonly measure: (r: never) => unknown;
  /** runs on stories260K from ../shared/models (it needs a tokenizer): skipped, with a warning, without it */
  readonly needsStories?: boolean;
}
const audited = <A, I, R>(
  schema: Schema.Schema<A, I>,
  base: Readonly<Record<string, unknown>>,
  run: (cache: SessionCache, spec: A) => Effect.Effect<R, Failure>,
  measure: (r: R) => unknown = (r) => r,
  needsStories = false,
): Audited => ({
  schema: schema as unknown as Schema.Schema<unknown, unknown>,
  base,
  run: run as unknown as Run,
  measure: measure as (r: never) => unknown,
  needsStories,
});
const omit = <T extends object>(x: T, ...keys: string[]) =>
  Object.fromEntries(Object.entries(x).filter(([k]) => !keys.includes(k)));

/** The stories260K model the patchscope sweep needs (a tokenizer); set by the test when ../shared/models exists. */
export const stories: {
  model: (Model & { readonly tokenizer: Tokenizer }) | null;
  cache: SessionCache | null;
} = { model: null, cache: null };

const steering = (positions: boolean) => (cache: SessionCache, s: SteeringSpec) =>
  steer(
    cache,
    model,
    s,
    positions
      ? {
          ...contrasts,
          positivePositions: contrasts.positive.map(() => [4]),
          negativePositions: contrasts.negative.map(() => [4]),
        }
      : contrasts,
  );
const recordsBase = { site: "blocks.0.mlp.post", index: 3, topK: 3, randomK: 2, window: 4 };
const scoreRecord = (cache: SessionCache) =>
  neuronRecords(cache, model, Schema.decodeSync(RecordsSpec)({ ...recordsBase, topK: 6 }), {
    prompts: lensPrompts,
  });
const sae = (cache: SessionCache) =>
  Effect.flatMap(runSae(cache, model, Schema.decodeSync(SaeSpec)(saeBase), { prompts: pairs.clean }), (r) =>
    Effect.orDie(saeFromArtifact(r.sae)),
  );
const saeBase = {
  site: "blocks.0.resid_post",
  chunkSize: 4,
  splice: true,
  train: { dictSize: 8, steps: 20, batchSize: 8, logPoints: 4 },
};

export const METHODS: Record<string, Audited> = {
  "logit-lens": audited(
    LensEvalSpec,
    {},
    (cache, s) => evaluateLens(cache, model, s, { prompts: lensPrompts }),
    (r) => ({
      kl: r.kl,
      rows: r.table.rows.map((x) => x.cells),
      final: r.table.final,
      tokens: r.table.tokens,
    }),
  ),
  "tuned-lens": audited(
    TunedLensTrainSpec,
    { steps: 3 },
    (cache, s) => trainTunedLens(cache, model, s, { prompts: lensPrompts }),
    (r) => ({ curve: r.curve, translators: r.lens.translators.map((t) => [[...t.A], [...t.b]]) }),
  ),
  "input-attribution": audited(
    InputAttributionSpec,
    { steps: 4 },
    (cache, s) => inputAttribution(cache, model, s, { examples }),
    (r) =>
      r.examples.map((e) => ({
        ...e,
        integratedGradients: e.integratedGradients && omit(e.integratedGradients, "steps", "rule"),
      })),
  ),
  dla: audited(DlaSpec, {}, (cache, s) => directLogitAttribution(cache, model, s, slots)),
  "dla (attention-only model)": audited(DlaSpec, {}, (cache, s) =>
    directLogitAttribution(cache, attentionOnly, s, slots),
  ),
  attention: audited(
    AttentionSpec,
    {},
    (cache, s) => attentionPatterns(cache, model, s, { prompts: slots.prompts }),
    (r) => r.examples,
  ),
  probe: audited(
    ProbeSpec,
    { site: "blocks.1.resid_post", maxIter: 30 },
    (cache, s) => probe(cache, model, s, probeData),
    (r) => omit(r, "site", "head"),
  ),
  steering: audited(SteeringSpec, { site: "blocks.0.resid_post", alphas: [-1, 1] }, steering(false), (r) =>
    omit(r, "site", "metricKind"),
  ),
  "steering (positions in the data)": audited(
    SteeringSpec,
    { site: "blocks.0.resid_post", alphas: [-1, 1] },
    steering(true),
    (r) => omit(r, "site", "metricKind"),
  ),
  erasure: audited(
    ErasureSpec,
    { probe: { site: "blocks.1.resid_post", maxIter: 30 } },
    (cache, s) => erase(cache, model, s, probeData),
    (r) => omit(r, "site", "direction"),
  ),
  "neuron records": audited(
    RecordsSpec,
    { ...recordsBase, quantiles: 2, perQuantile: 1 },
    (cache, s) => neuronRecords(cache, model, s, { prompts: lensPrompts }),
    (r) => r.record,
  ),
  "neuron score": audited(
    ScoreSpec,
    { explainTop: 3 },
    (cache, s) =>
      Effect.flatMap(scoreRecord(cache), (r) =>
        explainSimulateScore(ruleBasedExplainer(), ruleBasedSimulator(), r.record, s),
      ),
    (r) => omit(r, "explainer", "simulator"),
  ),
  sae: audited(
    SaeSpec,
    saeBase,
    (cache, s) => runSae(cache, model, s, { prompts: pairs.clean }),
    (r) => ({ ...omit(r, "site", "arch", "dictSize", "l1", "decoderNorm", "sae"), params: r.sae.params }),
  ),
  "sae-circuit": audited(
    FeatureCircuitSpec,
    { metric: { kind: "logit-diff" }, sizes: [1, 2, "all"] },
    (cache, s) =>
      Effect.flatMap(sae(cache), (x) => featureCircuit(cache, model, x, s, { ...pairs, metric: pairMetric })),
    (r) => omit(r, "site", "metric", "scores"),
  ),
  "sae feature attribution": audited(
    FeatureAttributionSpec,
    { metric: { kind: "logit-diff" }, top: 4, check: 2 },
    (cache, s) =>
      Effect.flatMap(sae(cache), (x) =>
        featureAttribution(cache, model, x, s, { ...pairs, metric: pairMetric }),
      ),
    (r) => omit(r, "site", "metric"),
  ),
  patchscope: audited(
    PatchscopeSpec,
    {
      source: { site: "blocks.1.resid_post", position: -1 },
      target: { site: "blocks.0.resid_post", position: -1 },
    },
    (cache, s) =>
      runPatchscope(cache, model, s, {
        examples: pairs.clean.map((source, i) => ({ source, target: pairs.corrupted[i]!, expected: 1 })),
      }),
  ),
  "patchscope-sweep": audited(
    SweepSpec,
    { sites: ["blocks.0.resid_post", "blocks.1.resid_post"] },
    (_, s) =>
      Effect.suspend(() => {
        const m = stories.model!;
        const sources = ["Once upon a time there was", "The little girl was happy"].map((t) => {
          const ids = m.tokenizer.encode(t);
          return { ids: ids.slice(0, -1), position: ids.length - 2, expected: ids.at(-1)! };
        });
        return patchscopeSweep(stories.cache!, m, s, { sources });
      }),
    (r) => r.layers.map((l) => omit(l, "sourceSite", "targetSite")),
    true,
  ),
};

export type Obj = Readonly<Record<string, unknown>>;
const isObj = (x: unknown): x is Obj => typeof x === "object" && x !== null && !Array.isArray(x);
/** b written into a (plain objects merged key by key; a tag change replaces the object). */
export const merge = (a: Obj, b: Obj): Obj =>
  Object.fromEntries([
    ...Object.entries(a).filter(([k]) => !(k in b)),
    ...Object.entries(b).map(([k, v]) => {
      const old = a[k];
      return [k, isObj(old) && isObj(v) && old._tag === v._tag ? merge(old, v) : v];
    }),
  ]);

/** The numbers of a result and its shape with the numbers blanked (typed arrays as arrays). */
const summary = (x: unknown) => {
  const nums: number[] = [];
  const shape = JSON.stringify(x, (_, v) => {
    if (typeof v !== "number") return ArrayBuffer.isView(v) ? Array.from(v as Float32Array) : v;
    nums.push(v);
    return 0;
  });
  return { nums, shape };
};
export const differ = (a: unknown, b: unknown, tol: number): boolean => {
  const x = summary(a);
  const y = summary(b);
  return (
    x.shape !== y.shape ||
    x.nums.some((v, i) => !Object.is(v, y.nums[i]) && !(Math.abs(v - y.nums[i]!) <= tol * (1 + Math.abs(v))))
  );
};
