import { mulberry32 } from "@patchbay/core/model";
import { Effect, Schema } from "effect";
import { describe, expect, it } from "vitest";
import { featureAttribution, spearman } from "./attribution.ts";
import { captureActivations } from "./capture.ts";
import { FeatureAttributionSpec, SaeTrainSpec } from "./spec.ts";
import { gpt2Tiny, llamaTiny, randomPrompts, tinyModel, withCache } from "./testing.ts";
import { trainSae } from "./train.ts";

const attrSpec = (s: Record<string, unknown>) => Schema.decodeUnknownSync(FeatureAttributionSpec)(s);
const trainSpec = (s: Record<string, unknown>) => Schema.decodeUnknownSync(SaeTrainSpec)(s);

/** A logit-difference task on random prompts: answer and wrong ids at the last position. */
const task = (vocab: number, n: number, len: number, seed: number) => {
  const u = mulberry32(seed);
  const clean = Array.from({ length: n }, () => Array.from({ length: len }, () => Math.floor(u() * vocab)));
  const corrupted = clean.map((s) => s.map((t, p) => (p >= len - 3 ? Math.floor(u() * vocab) : t)));
  const answers = clean.map(() => [Math.floor(u() * vocab)]);
  const wrong = answers.map(([a]) => [(a! + 1 + Math.floor(u() * (vocab - 1))) % vocab]);
  return { clean, corrupted, metric: { positions: clean.map(() => [len - 1]), answers, wrong } };
};

describe("SAE features as circuit nodes: attribution patching per feature", () => {
  for (const c of [gpt2Tiny, llamaTiny]) {
    it(`${c.name}: where the metric is linear in the site (ln_final.normalized → logit diff), attribution = exact patching`, async () => {
      const model = tinyModel(c, 11);
      const site = "ln_final.normalized";
      const acts = await withCache((cache) =>
        captureActivations(cache, model, site, "all", randomPrompts(c, 16, 6, 3), 8),
      );
      const { sae } = trainSae(
        site,
        acts.data,
        acts.n,
        acts.d,
        trainSpec({ dictSize: 24, steps: 200, batchSize: 16, l1: 0.3 }),
      );
      const data = task(c.vocabSize, 6, 6, 5);
      const r = await withCache((cache) =>
        featureAttribution(
          cache,
          model,
          sae,
          attrSpec({ metric: { kind: "logit-diff" }, top: 24, check: 10 }),
          data,
        ),
      );
      const check = r.check!;
      expect(check.features.length).toBe(10);
      const scale = Math.max(...check.features.map((f) => Math.abs(f.exact)));
      expect(scale).toBeGreaterThan(1e-3); // features do move the metric
      expect(check.maxAbsDiff).toBeLessThan(1e-4 * (1 + scale));
      expect(check.spearman).toBeCloseTo(1, 6);
      // ranked by |score|
      for (let k = 1; k < r.features.length; k++)
        expect(Math.abs(r.features[k - 1]!.score)).toBeGreaterThanOrEqual(Math.abs(r.features[k]!.score));
      // The splice is exact, and on a linear readout the feature and error nodes account for the
      // whole clean − corrupted difference: Σ_i score_i + score_ε = m(clean) − m(corrupted).
      expect(Math.abs(r.metricSpliced - r.metricClean)).toBeLessThan(1e-5);
      expect(Math.abs(r.totalFeatureScore + r.errorScore - (r.metricClean - r.metricCorrupted))).toBeLessThan(
        1e-4 * (1 + Math.abs(r.metricClean - r.metricCorrupted)),
      );
    });
  }

  it("at a nonlinear site the first-order scores still rank like exact patching", async () => {
    const c = gpt2Tiny;
    const model = tinyModel(c, 11);
    const site = "blocks.1.resid_pre";
    const acts = await withCache((cache) =>
      captureActivations(cache, model, site, "all", randomPrompts(c, 16, 6, 3), 8),
    );
    const { sae } = trainSae(
      site,
      acts.data,
      acts.n,
      acts.d,
      trainSpec({ dictSize: 24, steps: 200, batchSize: 16, l1: 0.3 }),
    );
    const r = await withCache((cache) =>
      featureAttribution(
        cache,
        model,
        sae,
        attrSpec({ metric: { kind: "logit-diff" }, check: 8 }),
        task(c.vocabSize, 6, 6, 5),
      ),
    );
    console.log(
      `nonlinear site ${site}: spearman ${r.check!.spearman?.toFixed(3)}; rows`,
      r
        .check!.features.map((f) => `${f.feature}: ${f.attribution.toFixed(4)} vs ${f.exact.toFixed(4)}`)
        .join(", "),
    );
    expect(r.check!.spearman!).toBeGreaterThan(0.5);
  });

  it("bad input: clean and corrupted of different lengths", async () => {
    const model = tinyModel(gpt2Tiny, 1);
    const acts = await withCache((cache) =>
      captureActivations(cache, model, "blocks.0.resid_post", "all", randomPrompts(gpt2Tiny, 4, 4, 1)),
    );
    const { sae } = trainSae(
      "blocks.0.resid_post",
      acts.data,
      acts.n,
      acts.d,
      trainSpec({ dictSize: 8, steps: 5, batchSize: 4 }),
    );
    const data = task(gpt2Tiny.vocabSize, 2, 5, 1);
    const bad = { ...data, corrupted: [data.corrupted[0]!, data.corrupted[1]!.slice(1)] };
    const e = await withCache((cache) =>
      Effect.flip(featureAttribution(cache, model, sae, attrSpec({ metric: { kind: "logit-diff" } }), bad)),
    );
    expect(e._tag).toBe("InputError");
    expect((e as { field: string }).field).toBe("corrupted[1]");
  });

  it("spearman: ties averaged, a monotone map gives 1, a reversal −1, constants null", () => {
    expect(spearman([1, 2, 3, 4], [10, 20, 30, 400])).toBeCloseTo(1, 15);
    expect(spearman([1, 2, 3], [3, 2, 1])).toBeCloseTo(-1, 15);
    expect(spearman([1, 1, 2], [5, 5, 7])).toBeCloseTo(1, 15);
    expect(spearman([1, 1], [2, 3])).toBeNull();
    expect(spearman([1], [2])).toBeNull();
  });
});
