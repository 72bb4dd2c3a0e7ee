import { mulberry32 } from "@patchbay/core/model";
import { plan, runPlan } from "@patchbay/core/engine";
import { Effect, Schema } from "effect";
import { describe, expect, it } from "vitest";
import { captureActivations } from "./capture.ts";
import { circuitSizes, curveArea, featureCircuit } from "./circuit.ts";
import { decode, encode, type Sae } from "./sae.ts";
import { FeatureCircuitSpec, SaeTrainSpec } from "./spec.ts";
import { gpt2Tiny, randomPrompts, tinyModel, withCache } from "./testing.ts";
import { trainSae } from "./train.ts";

const circuitSpec = (s: Record<string, unknown>) => Schema.decodeUnknownSync(FeatureCircuitSpec)(s);
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

const model = tinyModel(gpt2Tiny, 11);

const saeAt = async (site: string): Promise<Sae> => {
  const acts = await withCache((cache) =>
    captureActivations(cache, model, site, "all", randomPrompts(gpt2Tiny, 16, 6, 3), 8),
  );
  return trainSae(
    site,
    acts.data,
    acts.n,
    acts.d,
    trainSpec({ dictSize: 24, steps: 200, batchSize: 16, l1: 0.3 }),
  ).sae;
};

/**
 * Naive m(C): every token's x_C = decode(f mixed node by node) + ε(clean or corrupted), built from
 * the public encode/decode in plain loops, then one untiled engine run with the site replaced.
 */
const naiveCircuitMetric = (
  sae: Sae,
  site: string,
  data: ReturnType<typeof task>,
  inC: (node: number | "error") => boolean,
) =>
  withCache((cache) =>
    Effect.gen(function* () {
      const metric = { kind: "logit-diff" as const };
      const cap = plan({ captures: [site], metric, logits: false });
      const xc = (yield* runPlan(cache, model, cap, data.clean, { metric: data.metric })).sites.get(site)!;
      const xk = (yield* runPlan(cache, model, cap, data.corrupted, { metric: data.metric })).sites.get(
        site,
      )!;
      const n = xc.data.length / sae.d;
      const fc = encode(sae, xc.data, n);
      const fk = encode(sae, xk.data, n);
      const hc = decode(sae, fc, n);
      const hk = decode(sae, fk, n);
      const mix = new Float64Array(n * sae.m);
      for (let t = 0; t < n; t++)
        for (let i = 0; i < sae.m; i++) mix[t * sae.m + i] = inC(i) ? fc[t * sae.m + i]! : fk[t * sae.m + i]!;
      const hm = decode(sae, mix, n);
      const out = new Float32Array(xc.data.length);
      for (let k = 0; k < out.length; k++)
        out[k] = hm[k]! + (inC("error") ? xc.data[k]! - hc[k]! : xk.data[k]! - hk[k]!);
      const r = yield* runPlan(
        cache,
        model,
        plan({ interventions: [{ _tag: "replace", target: { site } }], metric, logits: false }),
        data.clean,
        { metric: data.metric, interventions: [{ value: { data: out, shape: [...xc.shape] } }] },
      );
      return r.metric!.mean;
    }),
  );

describe("sparse feature circuits: SAE features + error node as circuit nodes", () => {
  it("linear readout (ln_final.normalized → logit diff): ends exact, m(C) = m(∅) + Σ scores, curve as defined", async () => {
    const site = "ln_final.normalized";
    const sae = await saeAt(site);
    const data = task(gpt2Tiny.vocabSize, 6, 6, 5);
    const spec = circuitSpec({
      metric: { kind: "logit-diff" },
      sizes: [0, 1, 2, 4, 8, "all"],
      selection: { topN: 3 },
      circuitsPerRun: 4, // several engine runs, several circuits each
    });
    const r = await withCache((cache) => featureCircuit(cache, model, sae, spec, data));
    const N = sae.m + 1;
    expect(r.nodeCount).toBe(N);
    expect(r.curve.sizes).toEqual([0, 1, 2, 4, 8, N]);
    // f(∅) = 0, f(all) = 1; m(full) is the clean run, m(∅) the corrupted run (the site mediates all).
    expect(Math.abs(r.curve.faithfulness[0]!)).toBeLessThan(1e-6);
    expect(Math.abs(r.curve.faithfulness.at(-1)! - 1)).toBeLessThan(1e-5);
    const [mc, mk] = await withCache((cache) =>
      Effect.gen(function* () {
        const metricOnly = plan({ metric: spec.metric, logits: false });
        const a = yield* runPlan(cache, model, metricOnly, data.clean, { metric: data.metric });
        const b = yield* runPlan(cache, model, metricOnly, data.corrupted, { metric: data.metric });
        return [a.metric!.mean, b.metric!.mean];
      }),
    );
    expect(Math.abs(r.metricFull - mc!)).toBeLessThan(1e-5);
    expect(Math.abs(r.metricEmpty - mk!)).toBeLessThan(1e-5);
    expect(Math.abs(mc! - mk!)).toBeGreaterThan(1e-3);
    // nodes ranked by |score|, the error node among them, the top 3 in the graph
    expect(r.nodes.length).toBe(N);
    expect(r.nodes.some((n) => n.node === "error")).toBe(true);
    for (let k = 1; k < N; k++)
      expect(Math.abs(r.nodes[k - 1]!.score)).toBeGreaterThanOrEqual(Math.abs(r.nodes[k]!.score));
    expect(r.nodes.filter((n) => n.inGraph).map((n) => n.rank)).toEqual([1, 2, 3]);
    expect(r.selected.size).toBe(3);
    // Linearity: m(C_n) = m(∅) + Σ_{top n} score, at every size on the curve.
    r.curve.sizes.forEach((n, k) => {
      const sum = r.nodes.slice(0, n).reduce((s, x) => s + x.score, 0);
      expect(Math.abs(r.curve.metric[k]! - (r.metricEmpty + sum))).toBeLessThan(1e-4 * (1 + Math.abs(sum)));
    });
    // Naive recomputation of one size (n = 4): m(C) and f(C).
    const top4 = new Set(r.nodes.slice(0, 4).map((n) => n.node));
    const naive = await naiveCircuitMetric(sae, site, data, (node) => top4.has(node));
    const k4 = r.curve.sizes.indexOf(4);
    expect(Math.abs(r.curve.metric[k4]! - naive)).toBeLessThan(1e-5);
    expect(
      Math.abs(r.curve.faithfulness[k4]! - (naive - r.metricEmpty) / (r.metricFull - r.metricEmpty)),
    ).toBeLessThan(1e-4);
    expect(r.area).toBeCloseTo(curveArea(r.curve.sizes, r.curve.faithfulness, N), 12);
    expect(JSON.parse(JSON.stringify(r))).toEqual(r); // plain JSON
    // Exact per-node patching agrees with attribution on a linear readout.
    const e = await withCache((cache) =>
      featureCircuit(cache, model, sae, { ...spec, scores: "exact" as const }, data),
    );
    const byNode = new Map(e.nodes.map((n) => [n.node, n.score]));
    for (const n of r.nodes) expect(Math.abs(byNode.get(n.node)! - n.score)).toBeLessThan(1e-4);
  });

  it("nonlinear site, exact scores: ends 0 and 1, the faithful selection is the smallest size reaching it", async () => {
    const site = "blocks.1.resid_pre";
    const sae = await saeAt(site);
    const data = task(gpt2Tiny.vocabSize, 6, 6, 5);
    const r = await withCache((cache) =>
      featureCircuit(
        cache,
        model,
        sae,
        circuitSpec({ metric: { kind: "logit-diff" }, scores: "exact", selection: { faithful: 0.8 } }),
        data,
      ),
    );
    const N = sae.m + 1;
    expect(r.curve.sizes).toEqual([1, 2, 4, 8, 16, N]); // 32 clipped to N = 25
    expect(Math.abs(r.curve.faithfulness.at(-1)! - 1)).toBeLessThan(1e-5);
    const k = r.curve.faithfulness.findIndex((f) => f >= 0.8);
    expect(r.selected.size).toBe(r.curve.sizes[k]!);
    expect(r.nodes.filter((n) => n.inGraph).length).toBe(r.selected.size);
    const top = new Set(r.nodes.slice(0, r.selected.size).map((n) => n.node));
    const naive = await naiveCircuitMetric(sae, site, data, (node) => top.has(node));
    expect(
      Math.abs((naive - r.metricEmpty) / (r.metricFull - r.metricEmpty) - r.selected.faithfulness),
    ).toBeLessThan(1e-4);
    console.log(
      `feature circuit at ${site} (exact scores): sizes ${r.curve.sizes.join(",")} → f ${r.curve.faithfulness
        .map((f) => f.toFixed(3))
        .join(",")}; area ${r.area.toFixed(3)}; selected ${r.selected.size}`,
    );
  });

  it("bad sizes and selection are typed InputErrors naming the field", async () => {
    const site = "ln_final.normalized";
    const sae = await saeAt(site);
    const data = task(gpt2Tiny.vocabSize, 2, 5, 1);
    const fail = (s: Record<string, unknown>) =>
      withCache((cache) =>
        Effect.flip(
          featureCircuit(cache, model, sae, circuitSpec({ metric: { kind: "logit-diff" }, ...s }), data),
        ),
      );
    for (const [s, field] of [
      [{ sizes: [1, -2] }, "sizes[1]"],
      [{ sizes: [] }, "sizes"],
      [{ selection: { faithful: 1.5 } }, "selection.faithful"],
      [{ selection: { topN: -1 } }, "selection.topN"],
    ] as const) {
      const e = await fail(s);
      expect(e._tag).toBe("InputError");
      expect((e as { field: string }).field).toBe(field);
    }
    expect(() => circuitSizes([2.5], 4)).toThrow(/sizes\[0\]/);
  });

  it("circuitSizes and curveArea", () => {
    expect(circuitSizes([32, 1, "all", 4, 1], 10)).toEqual([1, 4, 10]);
    // f = n/N everywhere: area ½; f = 1 from n = 1 on with N = 2: ½·½·1 + ½·1 = ¾
    expect(curveArea([1, 2, 3], [0.25, 0.5, 0.75], 4)).toBeCloseTo(0.5, 15);
    expect(curveArea([1], [1], 2)).toBeCloseTo(0.75, 15);
  });
});
