import { tinyRotary } from "../testing/configs.ts";
import { Effect } from "effect";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { runPlan } from "../engine/index.ts";
import { type ModelConfig, randomWeights, type Weights } from "../model/index.ts";
import { arbConfig } from "../reference/arbitraries.ts";
import { loadableFixtures, testdataPath } from "../testing/testdata.ts";
import { loadModelSync } from "../weights/index.ts";
import { makeSessionCache, type SessionCache } from "../runtime/index.ts";
import { edgeLayout, type Granularity } from "../edges/index.ts";
import {
  ablatedSources,
  compactAblated,
  edgeAttribution,
  edgeAttributionResample,
  type EdgeAblation,
  fullMask,
} from "./index.ts";

const withCache = <A, E>(f: (cache: SessionCache) => Effect.Effect<A, E>) =>
  Effect.runPromise(Effect.scoped(Effect.flatMap(makeSessionCache("attribution-test"), f)));

/** The fused graph's EAP gradient against the edge-masked graph's mask gradient at m = 1. */
const sameAsMaskGradient = async (
  c: ModelConfig,
  granularity: Granularity,
  kind: "logit-diff" | "logprob" | "kl",
  ablation: EdgeAblation,
  seed: number,
  weights: Weights = randomWeights(c, seed),
) => {
  const m = { config: c, weights };
  const n = Math.min(5, c.nCtx);
  const seq = (k: number) =>
    Array.from({ length: n }, (_, p) => (seed * (k + 3) + p * (2 * k + 5) + k) % c.vocabSize);
  const clean = [seq(0), seq(1)];
  const corrupted = [seq(2), seq(3)];
  const layout = edgeLayout(c, granularity);
  const V = c.vocabSize;
  const binding = {
    positions: [[n - 1], [0, n - 1]],
    answers: [[1 % V], [2 % V, 3 % V]],
    wrong: [[4 % V], [0, 1 % V]],
    reference: {
      data: Float32Array.from({ length: 2 * 2 * V }, (_, i) => Math.sin(i + seed)),
      shape: [2, 2, V],
    },
  };
  await withCache((cache) =>
    Effect.gen(function* () {
      const data = { corrupted, reference: [...clean, ...corrupted] };
      const ablated = yield* ablatedSources(cache, m, layout, ablation, clean, data);
      const masked = yield* runPlan(
        cache,
        m,
        {
          captures: [],
          interventions: [],
          metric: { kind },
          gradients: [{ _tag: "edges", param: "mask" }],
          edges: { granularity },
          logits: false,
        },
        clean,
        { edges: { mask: fullMask(layout, 2, 1), ablated }, metric: binding },
      );
      const g = masked.grads.get("edges:mask")!.data; //      [2, S, D]
      const SD = g.length / 2;
      const compact = yield* compactAblated(cache, m, layout, ablation, clean, data);
      const fast = yield* edgeAttribution(cache, m, layout, kind, clean, compact, binding);
      let worst = 0;
      let scale = 0;
      for (const e of layout.edges) {
        const i = e.source * layout.destinations.length + e.destination;
        const want = g[i]! + g[SD + i]!;
        worst = Math.max(worst, Math.abs(fast.gradient[i]! - want));
        scale = Math.max(scale, Math.abs(want));
      }
      // float32, two summation orders: relative 1e-4 of the largest score
      expect(worst, `${c.name} ${granularity} ${kind} ${ablation}`).toBeLessThanOrEqual(1e-4 * scale + 1e-6);
      expect(fast.perExample[0]).toBeCloseTo(masked.metric!.perExample[0]!, 4);
      if (ablation === "resample") {
        // z′ from the corrupted forward inside the fused graph: the same gradient as z′ fed in
        const inGraph = yield* edgeAttributionResample(cache, m, layout, kind, clean, corrupted, binding);
        expect(inGraph.gradient.length).toBe(fast.gradient.length);
        let apart = 0;
        inGraph.gradient.forEach((x, i) => {
          apart = Math.max(apart, Math.abs(x - fast.gradient[i]!));
        });
        expect(apart, `${c.name} ${granularity} ${kind} in-graph z′`).toBeLessThanOrEqual(
          1e-5 * scale + 1e-7,
        );
        expect(inGraph.perExample).toEqual(fast.perExample);
      }
    }),
  );
};

describe("EAP through the fused graph", () => {
  it("equals the mask gradient of the edge-masked graph (every family, granularity, metric, ablation)", async () => {
    await fc.assert(
      fc.asyncProperty(
        arbConfig(),
        fc.constantFrom("head" as const, "head-qkv" as const, "layer" as const),
        fc.constantFrom("logit-diff" as const, "logprob" as const, "kl" as const),
        fc.constantFrom("resample" as const, "zero" as const, "mean" as const, "mean-positional" as const),
        fc.nat(500),
        (c, granularity, kind, ablation, seed) => sameAsMaskGradient(c, granularity, kind, ablation, seed),
      ),
      { numRuns: 24, seed: 17 },
    );
  });

  it("head-qkv under grouped-query attention: per-query-head key/value gradients", async () => {
    await fc.assert(
      fc.asyncProperty(
        arbConfig().filter((c) => c.nKvHeads < c.nHeads),
        fc.constantFrom("logit-diff" as const, "kl" as const),
        fc.constantFrom("resample" as const, "zero" as const),
        fc.nat(500),
        (c, kind, ablation, seed) => sameAsMaskGradient(c, "head-qkv", kind, ablation, seed),
      ),
      { numRuns: 10, seed: 19 },
    );
  });

  it("rescaled rotary frequencies (Llama 3.1 bands, llama.cpp divisors)", async () => {
    await fc.assert(
      fc.asyncProperty(
        arbConfig({ rotary: true, ropeScaling: true }),
        fc.constantFrom("head" as const, "head-qkv" as const),
        fc.nat(500),
        (c, granularity, seed) => sameAsMaskGradient(c, granularity, "logit-diff", "resample", seed),
      ),
      { numRuns: 4, seed: 23 },
    );
  });

  it("on the fixture of every family that loads (Qwen2's biases, Llama 3's scaled rotary, …)", async () => {
    for (const name of loadableFixtures()) {
      const { config, weights } = loadModelSync(testdataPath("fixtures", name));
      await sameAsMaskGradient(config, "head-qkv", "logit-diff", "resample", 3, weights);
    }
  });
});

describe("EAP with z′ from the corrupted forward inside the fused graph", () => {
  const c: ModelConfig = tinyRotary({ name: "fused-corrupted" });
  const m = { config: c, weights: randomWeights(c, 5) };
  const seq = (n: number, k: number) => Array.from({ length: n }, (_, p) => (p * (2 * k + 3) + k) % 19);
  const binding = { positions: [[4], [2]], answers: [[3], [5]], wrong: [[4], [6]] };

  it("ragged lengths: the same gradient as z′ from a capture run", async () => {
    const clean = [seq(5, 0), seq(3, 1)];
    const corrupted = [seq(5, 2), seq(3, 3)];
    const [inGraph, fed] = await withCache((cache) =>
      Effect.gen(function* () {
        const layout = edgeLayout(c, "head-qkv");
        const compact = yield* compactAblated(cache, m, layout, "resample", clean, { corrupted });
        return [
          yield* edgeAttributionResample(cache, m, layout, "logit-diff", clean, corrupted, binding),
          yield* edgeAttribution(cache, m, layout, "logit-diff", clean, compact, binding),
        ] as const;
      }),
    );
    const scale = Math.max(...fed.gradient.map(Math.abs));
    expect(scale).toBeGreaterThan(0);
    let apart = 0;
    inGraph.gradient.forEach((x, i) => {
      apart = Math.max(apart, Math.abs(x - fed.gradient[i]!));
    });
    expect(apart).toBeLessThanOrEqual(1e-5 * scale);
  });

  it("a corrupted example of another length is an InputError naming it", async () => {
    const r = await Effect.runPromise(
      Effect.either(
        Effect.scoped(
          Effect.flatMap(makeSessionCache("fused-corrupted"), (cache) =>
            edgeAttributionResample(
              cache,
              m,
              edgeLayout(c, "head"),
              "logit-diff",
              [seq(5, 0), seq(3, 1)],
              [seq(5, 2), seq(4, 3)],
              binding,
            ),
          ),
        ),
      ),
    );
    expect(r._tag).toBe("Left");
    if (r._tag === "Left") {
      expect(r.left._tag).toBe("InputError");
      expect(r.left.message).toMatch(/corrupted\[1\]/);
    }
  });
});

describe("EAP through the fused graph keeps the engine's promises", () => {
  // a rotary model with a context of 8: EAP on 12 tokens needs the user's opt-in, as every run does
  const c: ModelConfig = tinyRotary({ name: "fused-context", nCtx: 8 });
  const clean = [Array.from({ length: 12 }, (_, p) => (p * 5 + 1) % 19)];
  const corrupted = [Array.from({ length: 12 }, (_, p) => (p * 7 + 2) % 19)];
  const binding = { positions: [[11]], answers: [[3]], wrong: [[4]] };
  const eap = (weights: ReturnType<typeof randomWeights>, allowLongContext: boolean) =>
    Effect.runPromise(
      Effect.either(
        Effect.scoped(
          Effect.flatMap(makeSessionCache("fused-context", { allowLongContext }), (cache) =>
            Effect.gen(function* () {
              const m = { config: c, weights };
              const layout = edgeLayout(c, "head");
              const compact = yield* compactAblated(cache, m, layout, "zero", clean, { corrupted });
              return yield* edgeAttribution(cache, m, layout, "logit-diff", clean, compact, binding);
            }),
          ),
        ),
      ),
    );

  it("past the context: refused without the opt-in, scored with it", async () => {
    const w = randomWeights(c, 3);
    const refused = await eap(w, false);
    expect(refused._tag).toBe("Left");
    if (refused._tag === "Left") expect(refused.left.message).toMatch(/n_ctx = 8/);
    const allowed = await eap(w, true);
    expect(allowed._tag).toBe("Right");
    if (allowed._tag === "Right") expect(allowed.right.gradient.every(Number.isFinite)).toBe(true);
  });

  it("an overflowing model is a RuntimeError naming the metric, not NaN scores", async () => {
    const w = new Map(randomWeights(c, 3));
    const u = w.get("unembed.W_U")!;
    w.set("unembed.W_U", { data: u.data.map((x) => Math.sign(x) * 3e38), shape: u.shape });
    const r = await eap(w, true);
    expect(r._tag).toBe("Left");
    if (r._tag === "Left") {
      expect(r.left._tag).toBe("RuntimeError");
      expect(r.left.message).toMatch(/non-finite (metric|edge score gradient)/);
    }
  });
});
