import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { type ModelConfig, randomWeights } from "../model/index.ts";
import { forward, makeSessionCache } from "../runtime/index.ts";
import { maxAbsDiff } from "../testing/compare.ts";
import { metricOverDataset } from "./chunked.ts";
import { interchangePatch, meanPatch, resamplePatch, siteMean } from "./dataset.ts";
import { runPlan } from "./run.ts";
import { plan } from "./spec.ts";

const c: ModelConfig = {
  name: "dataset-test",
  family: "zoo",
  dModel: 8,
  nLayers: 2,
  nHeads: 2,
  nKvHeads: 2,
  dHead: 4,
  dMlp: 12,
  gatedMlp: false,
  act: "relu",
  vocabSize: 11,
  nCtx: 12,
  positional: "learned",
  rotary: null,
  norm: "layernorm",
  normEps: 1e-5,
  parallelResidual: false,
  attnScale: 0.5,
};
const w = randomWeights(c, 4);
const model = { config: c, weights: w };
const dataset = [[1, 2, 3, 4, 5], [6, 7, 8], [9, 10, 1, 2], [3, 3, 3, 3, 3], [4]];
const run = <A, E>(
  f: (cache: Effect.Effect.Success<ReturnType<typeof makeSessionCache>>) => Effect.Effect<A, E>,
) => Effect.runPromise(Effect.scoped(Effect.flatMap(makeSessionCache("ds"), f)));

describe("dataset sources of patch values", () => {
  it("site means equal the naive mean over unpadded runs, per position and pooled, for any chunk size", async () => {
    const site = "blocks.1.mlp.post";
    // Naive: run each sequence alone and average by hand.
    const alone = await run((cache) => Effect.forEach(dataset, (s) => forward(cache, model, [s], [site])));
    const D = 12;
    const perPos = new Float64Array(5 * D);
    const count = new Float64Array(5);
    let pooled = new Float64Array(D);
    let total = 0;
    alone.forEach((o, k) => {
      const x = o.sites.get(site)!;
      for (let p = 0; p < dataset[k]!.length; p++) {
        count[p]! += 1;
        total += 1;
        for (let i = 0; i < D; i++) {
          perPos[p * D + i]! += x.data[p * D + i]!;
          pooled[i]! += x.data[p * D + i]!;
        }
      }
    });
    pooled = pooled.map((v) => v / total);
    const expectedPerPos = perPos.map((v, j) => v / count[Math.floor(j / D)]!);
    for (const chunkSize of [1, 2, 5]) {
      const [pp, po] = await run((cache) =>
        Effect.all([
          siteMean(cache, model, site, dataset, { perPosition: true, chunkSize }),
          siteMean(cache, model, site, dataset, { perPosition: false, chunkSize }),
        ]),
      );
      expect(pp.shape).toEqual([5, D]);
      expect(po.shape).toEqual([D]);
      expect(maxAbsDiff(pp.data, expectedPerPos)).toBeLessThan(1e-5);
      expect(maxAbsDiff(po.data, pooled)).toBeLessThan(1e-5);
    }
  });

  it("meanPatch tiles the mean; per-position means shorter than the prompt are an InputError", () => {
    const mean = { data: Float32Array.from([1, 2, 3, 4]), shape: [2, 2] };
    expect(Array.from(meanPatch(mean, true, 2, 2).data)).toEqual([1, 2, 3, 4, 1, 2, 3, 4]);
    expect(Array.from(meanPatch({ data: Float32Array.from([5, 6]), shape: [2] }, false, 1, 3).data)).toEqual([
      5, 6, 5, 6, 5, 6,
    ]);
    expect(() => meanPatch(mean, true, 1, 3)).toThrow(/covering 3 positions/);
  });

  it("interchangePatch moves source positions to base positions per example", () => {
    const source = { data: Float32Array.from({ length: 2 * 3 * 2 }, (_, i) => i), shape: [2, 3, 2] };
    const p = interchangePatch([2, 4, 2], source, [[3], [0, 1]], [[0], [2, 2]]);
    expect(p.shape).toEqual([2, 4, 2]);
    expect(Array.from(p.data.subarray(6, 8))).toEqual([0, 1]); //      b0 p3 ← s0 q0
    expect(Array.from(p.data.subarray(8, 12))).toEqual([10, 11, 10, 11]); // b1 p0,p1 ← s1 q2
    expect(() => interchangePatch([2, 4, 2], source, [[3], [0]], [[0], [5]])).toThrow(
      /sourcePositions\[1\]\[0\]/,
    );
  });

  it("resamplePatch permutes examples", () => {
    const source = { data: Float32Array.from([0, 1, 2, 3, 4, 5]), shape: [3, 1, 2] };
    expect(Array.from(resamplePatch(source, [2, 0]).data)).toEqual([4, 5, 0, 1]);
    expect(() => resamplePatch(source, [3])).toThrow(/perm\[0\]/);
  });

  it("the metric over a dataset in chunks equals one big batch", async () => {
    const seqs = dataset.map((s) => [...s, ...s].slice(0, 5)).filter((s) => s.length >= 2);
    const logprob = plan({ metric: { kind: "logprob" } });
    const metricFor = (start: number, end: number) => ({
      metric: {
        positions: seqs.slice(start, end).map((s) => [s.length - 2]),
        answers: seqs.slice(start, end).map((s) => [s[s.length - 1]!]),
      },
    });
    const [whole, chunked] = await run((cache) =>
      Effect.all([
        runPlan(cache, model, logprob, seqs, metricFor(0, seqs.length)),
        metricOverDataset(cache, model, logprob, seqs, metricFor, 2),
      ]),
    );
    expect(maxAbsDiff(whole.metric!.perExample, chunked.perExample)).toBeLessThan(1e-5);
    expect(chunked.mean).toBeCloseTo(whole.metric!.mean, 5);
  });
});
