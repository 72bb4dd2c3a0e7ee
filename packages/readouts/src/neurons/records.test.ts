import { Effect, Schema } from "effect";
import { describe, expect, it } from "vitest";
import { InputError } from "@patchbay/core/errors";
import { makeSessionCache } from "@patchbay/core/runtime";
import { referenceForward } from "@patchbay/core/reference";
import { neuronRecordFromJson, neuronRecordToJson } from "./format.ts";
import { neuronRecords, type RecordsData, windowStart } from "./records.ts";
import { RecordsSpec } from "./spec.ts";
import { randomPrompts, tinyModel } from "./test-support.ts";

const model = tinyModel();
const prompts = randomPrompts(7, 37, model.config.vocabSize, 3, 24);

const run = (spec: unknown, data: RecordsData = { prompts }) =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const cache = yield* makeSessionCache(model.config.name);
        return yield* neuronRecords(cache, model, Schema.decodeUnknownSync(RecordsSpec)(spec), data);
      }),
    ),
  );

/** The neuron at every real token by the float64 reference forward, one prompt at a time. */
const naive = (site: string, index: number, width: number): number[][] =>
  prompts.map((p) => {
    const t = referenceForward(model.config, model.weights, [p], { sites: [site] }).sites.get(site)!;
    return p.map((_, pos) => t.data[pos * width + index]!);
  });

describe("neuronRecords", () => {
  const spec = {
    site: "blocks.1.mlp.post",
    index: 5,
    topK: 6,
    randomK: 5,
    window: 8,
    quantiles: 4,
    perQuantile: 2,
    chunkSize: 8,
  };

  it("top records are the true top activations (vs the float64 reference forward)", async () => {
    const r = await run(spec);
    const ref = naive("blocks.1.mlp.post", 5, model.config.dMlp!);
    const maxes = ref.map((a) => Math.max(...a));
    const order = maxes.map((m, i) => ({ m, i })).sort((a, b) => b.m - a.m || a.i - b.i);
    expect(r.meta.top.map((s) => s.prompt)).toEqual(order.slice(0, 6).map((x) => x.i));
    const W = 8;
    const before = W - 1 - Math.floor(W / 4);
    expect(r.meta.before).toBe(before);
    r.record.mostPositiveActivationRecords.forEach((rec, k) => {
      const src = r.meta.top[k]!;
      const a = ref[src.prompt]!;
      const p = a.indexOf(Math.max(...a));
      expect(src.maxPosition).toBe(p);
      // the window: W tokens (or the whole prompt), holding the max at offset `before` when it fits
      const len = a.length;
      const start = Math.max(0, Math.min(p - before, len - W));
      expect(src.start).toBe(start);
      expect(windowStart(p, len, W, before)).toBe(start);
      expect(rec.tokens).toEqual(prompts[src.prompt]!.slice(start, start + W).map(String));
      expect(rec.activations.length).toBe(Math.min(W, len));
      for (const [t, x] of rec.activations.entries()) expect(x).toBeCloseTo(a[start + t]!, 4);
      expect(Math.max(...rec.activations)).toBeCloseTo(order[k]!.m, 4);
    });
    expect(r.meta.maxActivation).toBeCloseTo(Math.max(0, order[0]!.m), 4);
    expect(r.record.neuronId).toEqual({ layerIndex: 1, neuronIndex: 5 });
  });

  it("moments over every real token match a naive two-pass computation", async () => {
    const r = await run(spec);
    const all = naive("blocks.1.mlp.post", 5, model.config.dMlp!).flat();
    const n = all.length;
    const mu = all.reduce((s, x) => s + x, 0) / n;
    const m = (k: number) => all.reduce((s, x) => s + (x - mu) ** k, 0) / n;
    expect(r.meta.tokens).toBe(n);
    expect(r.record.mean!).toBeCloseTo(mu, 5);
    expect(r.record.variance!).toBeCloseTo(m(2), 5);
    expect(r.record.skewness!).toBeCloseTo(m(3) / m(2) ** 1.5, 3);
    expect(r.record.kurtosis!).toBeCloseTo(m(4) / m(2) ** 2 - 3, 3);
    expect(r.meta.stdev).toBeCloseTo(Math.sqrt(m(2)), 5);
  });

  it("random and quantile records are deterministic, in range, and in their bins", async () => {
    const a = await run(spec);
    const b = await run(spec);
    expect(JSON.stringify(neuronRecordToJson(a.record))).toBe(JSON.stringify(neuronRecordToJson(b.record)));
    const c = await run({ ...spec, seed: 3 });
    expect(c.meta.random.map((s) => s.prompt)).not.toEqual(a.meta.random.map((s) => s.prompt));
    expect(new Set(a.meta.random.map((s) => s.prompt)).size).toBe(5);
    const ref = naive("blocks.1.mlp.post", 5, model.config.dMlp!);
    a.meta.random.forEach((s, k) => {
      const len = prompts[s.prompt]!.length;
      const rec = a.record.randomSample[k]!;
      expect(rec.tokens.length).toBe(Math.min(8, len));
      expect(s.start + rec.tokens.length).toBeLessThanOrEqual(len);
      for (const [t, x] of rec.activations.entries()) expect(x).toBeCloseTo(ref[s.prompt]![s.start + t]!, 4);
    });
    // boundaries: the interior quartiles of the per-prompt maxima (linear interpolation)
    const maxes = ref.map((x) => Math.max(...x)).sort((x, y) => x - y);
    const q = (f: number) => {
      const h = (maxes.length - 1) * f;
      const lo = Math.floor(h);
      return maxes[lo]! + (h - lo) * (maxes[lo + 1]! - maxes[lo]!);
    };
    const bounds = a.record.quantileBoundaries!;
    expect(bounds.length).toBe(3);
    for (const [i, x] of bounds.entries()) expect(x).toBeCloseTo(q((i + 1) / 4), 4);
    expect(a.record.randomSampleByQuantile!.length).toBe(4);
    a.record.randomSampleByQuantile!.forEach((bin, i) => {
      expect(bin.length).toBe(2);
      for (const rec of bin) {
        const m = Math.max(...ref[a.meta.byQuantile![i]![bin.indexOf(rec)]!.prompt]!);
        if (i > 0) expect(m).toBeGreaterThanOrEqual(bounds[i - 1]! - 1e-5);
        if (i < 3) expect(m).toBeLessThan(bounds[i]! + 1e-5);
      }
    });
  });

  it("any [batch, pos, …] site and a TransformerLens name; token strings are carried", async () => {
    const tokens = prompts.map((p) => p.map((id) => `t${id}`));
    const r = await run(
      { site: "blocks.0.hook_resid_post", index: 3, topK: 3, randomK: 2, window: 6 },
      { prompts, tokens },
    );
    const ref = naive("blocks.0.resid_post", 3, model.config.dModel);
    const order = ref.map((a, i) => ({ m: Math.max(...a), i })).sort((a, b) => b.m - a.m || a.i - b.i);
    expect(r.meta.site).toBe("blocks.0.resid_post");
    expect(r.meta.top.map((s) => s.prompt)).toEqual(order.slice(0, 3).map((x) => x.i));
    expect(r.record.mostPositiveActivationRecords[0]!.tokens[0]!.startsWith("t")).toBe(true);
    expect(r.record.neuronId.layerIndex).toBe(0);
  });

  it("bad input is an InputError naming the field", async () => {
    const fail = (spec: unknown, data: RecordsData = { prompts }) =>
      Effect.runPromise(
        Effect.scoped(
          Effect.gen(function* () {
            const cache = yield* makeSessionCache(model.config.name);
            return yield* Effect.flip(
              neuronRecords(cache, model, Schema.decodeUnknownSync(RecordsSpec)(spec), data),
            );
          }),
        ),
      );
    const e1 = (await fail({ site: "blocks.1.mlp.pots", index: 0 })) as InputError;
    expect(e1).toBeInstanceOf(InputError);
    expect(e1.field).toBe("spec.site");
    const e2 = (await fail({ site: "blocks.1.mlp.post", index: 32 })) as InputError;
    expect(e2.field).toBe("spec.index");
    const e3 = (await fail({ site: "blocks.0.attn.pattern", index: 0 })) as InputError;
    expect(e3.expected).toContain("[batch, pos");
    const e4 = (await fail(
      { site: "blocks.1.mlp.post", index: 0 },
      { prompts, tokens: [["x"]] },
    )) as InputError;
    expect(e4.field).toContain("data.tokens");
  });

  it("the record survives the neuron-explainer JSON round trip", async () => {
    const r = await run(spec);
    const json = JSON.parse(JSON.stringify(neuronRecordToJson(r.record)));
    expect(Object.keys(json).sort()).toEqual(
      [
        "dataclass_name",
        "neuron_id",
        "random_sample",
        "random_sample_by_quantile",
        "quantile_boundaries",
        "mean",
        "variance",
        "skewness",
        "kurtosis",
        "most_positive_activation_records",
      ].sort(),
    );
    expect(json.neuron_id).toEqual({ dataclass_name: "NeuronId", layer_index: 1, neuron_index: 5 });
    expect(Object.keys(json.most_positive_activation_records[0]).sort()).toEqual(
      ["activations", "dataclass_name", "tokens"].sort(),
    );
    expect(neuronRecordFromJson(json)).toEqual(r.record);
  });
});
