import { Effect } from "effect";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type MetricBinding, plan, runPlan } from "../engine/index.ts";
import type { MetricKind } from "../engine/spec.ts";
import { type EdgeLayout, edgeLayout, type Granularity, maskIndex } from "../edges/index.ts";
import { type Model, randomWeights } from "../model/index.ts";
import { arbConfig } from "../reference/arbitraries.ts";
import { makeSessionCache, type SessionCache } from "../runtime/index.ts";
import { worstMismatch } from "../testing/compare.ts";
import { loadableFixtures, testdataPath } from "../testing/testdata.ts";
import { loadModelSync } from "../weights/index.ts";
import { ablatedSources, exactEdgePatching } from "./index.ts";

/**
 * Downstream-only exact patching (a row runs from its destination's layer, from the clean
 * residual stream plus one rank-one difference) against the full edge-masked graph with a single
 * zero in the mask: the same metric per edge and example, on random configs of every family and
 * on every real fixture, at every granularity.
 */
const withCache = <A, E>(f: (cache: SessionCache) => Effect.Effect<A, E>) =>
  Effect.runPromise(Effect.scoped(Effect.flatMap(makeSessionCache("exact-edges-test", { threads: 1 }), f)));

const GRANULARITIES: readonly Granularity[] = ["head", "head-qkv", "layer"];

/** At most `k` edges spread over the layout (destination-major, so every group is reached), and the last. */
const spread = (layout: EdgeLayout, k: number): number[] => {
  const E = layout.edges.length;
  const step = Math.max(1, Math.ceil(E / k));
  const out = new Set<number>();
  for (let e = 0; e < E; e += step) out.add(e);
  out.add(E - 1);
  return [...out];
};

/** The full edge-masked graph: one row per (edge, example), a single zero in each row's mask. */
const fullGraph = (
  cache: SessionCache,
  m: Model,
  layout: EdgeLayout,
  metric: MetricKind,
  seqs: readonly (readonly number[])[],
  binding: MetricBinding,
  edges: readonly number[],
) =>
  Effect.gen(function* () {
    const N = seqs.length;
    const ablated = yield* ablatedSources(cache, m, layout, "resample", seqs, {
      corrupted: seqs.map((s) => [...s].reverse()),
    });
    const S = layout.sources.length;
    const D = layout.destinations.length;
    const rows = (edges.length + 1) * N;
    const mask = new Float32Array(rows * S * D).fill(1);
    edges.forEach((e, j) => {
      for (let b = 0; b < N; b++) mask[((j + 1) * N + b) * S * D + maskIndex(layout, layout.edges[e]!)] = 0;
    });
    const per = ablated.data.length / N;
    const tiledAblated = new Float32Array(rows * per);
    for (let r = 0; r < rows; r++)
      tiledAblated.set(ablated.data.subarray((r % N) * per, ((r % N) + 1) * per), r * per);
    const pick = <A>(xs: readonly A[]) => Array.from({ length: rows }, (_, r) => xs[r % N]!);
    const r = yield* runPlan(
      cache,
      m,
      plan({ edges: { granularity: layout.granularity }, metric: { kind: metric }, logits: false }),
      pick(seqs),
      {
        edges: {
          mask: { data: mask, shape: [rows, S, D] },
          ablated: { data: tiledAblated, shape: [rows, ...ablated.shape.slice(1)] },
        },
        metric: {
          positions: pick(binding.positions),
          answers: pick(binding.answers),
          ...(binding.wrong !== undefined ? { wrong: pick(binding.wrong) } : {}),
        },
      },
    );
    const all = r.metric!.perExample;
    return { ablated, clean: all.slice(0, N), patched: all.slice(N) };
  });

/** Both paths on one model, granularity and metric; the mismatch (null when they agree). */
const compare = (
  cache: SessionCache,
  m: Model,
  granularity: Granularity,
  metric: MetricKind,
  seqs: readonly (readonly number[])[],
  maxEdges: number,
  maxRows?: number,
) =>
  Effect.gen(function* () {
    const V = m.config.vocabSize;
    const layout = edgeLayout(m.config, granularity);
    const edges = spread(layout, maxEdges);
    const binding: MetricBinding = {
      positions: seqs.map((s) => [s.length - 1, Math.max(0, s.length - 3)]),
      answers: seqs.map((_, b) => [(b * 7 + 1) % V, (b * 5 + 2) % V]),
      wrong: seqs.map((_, b) => [(b * 3 + 4) % V, (b * 11 + 3) % V]),
    };
    const full = yield* fullGraph(cache, m, layout, metric, seqs, binding, edges);
    const fast = yield* exactEdgePatching(
      cache,
      m,
      layout,
      metric,
      seqs,
      full.ablated,
      binding,
      edges,
      maxRows,
    );
    return {
      clean: worstMismatch(fast.clean, full.clean, 1e-4, 1e-3),
      patched: worstMismatch(fast.patched, full.patched, 1e-4, 1e-3),
      moved: full.patched.some((x, i) => Math.abs(x - full.clean[i % seqs.length]!) > 1e-3),
    };
  });

describe("exact edge patching downstream of the destination = the full edge-masked run", () => {
  it("random configs of every family, every granularity (fast-check)", async () => {
    await fc.assert(
      fc.asyncProperty(
        arbConfig({ maxLayers: 3 }),
        fc.constantFrom(...GRANULARITIES),
        fc.constantFrom<MetricKind>("logit-diff", "logprob", "prob-diff"),
        fc.nat(500),
        fc.integer({ min: 1, max: 7 }),
        async (c, granularity, metric, seed, maxRows) => {
          const m = { config: c, weights: randomWeights(c, seed) };
          const n = Math.min(6, c.nCtx);
          const seq = (k: number, len: number) =>
            Array.from({ length: len }, (_, p) => (seed * (k + 3) + p * (2 * k + 5) + k) % c.vocabSize);
          const seqs = [seq(0, n), seq(1, Math.max(3, n - 2))]; // ragged: padding rows too
          const r = await withCache((cache) => compare(cache, m, granularity, metric, seqs, 40, maxRows));
          expect(r.clean, `${c.name} ${granularity} ${metric} clean`).toBeNull();
          expect(r.patched, `${c.name} ${granularity} ${metric} patched`).toBeNull();
        },
      ),
      { numRuns: 14, seed: 17 },
    );
  }, 240_000);

  const names = loadableFixtures();
  it("covers GPT-2, LLaMA, NeoX, Qwen2, Llama 3 and Gemma 2", () => {
    expect(names).toEqual(
      expect.arrayContaining([
        "tiny-gpt2",
        "tiny-llama",
        "tiny-neox",
        "tiny-qwen2",
        "tiny-llama3",
        "tiny-gemma2",
      ]),
    );
  });
  for (const name of names)
    it(`${name}: every granularity`, async () => {
      const m = loadModelSync(testdataPath("fixtures", name));
      const V = m.config.vocabSize;
      const seq = (k: number, len: number) =>
        Array.from({ length: len }, (_, p) => (k * 11 + p * (2 * k + 3) + 1) % V);
      const seqs = [seq(0, 7), seq(1, 5)];
      for (const granularity of GRANULARITIES) {
        const r = await withCache((cache) => compare(cache, m, granularity, "logit-diff", seqs, 80));
        expect(r.clean, `${granularity} clean`).toBeNull();
        expect(r.patched, `${granularity} patched`).toBeNull();
        expect(r.moved, `${granularity}: some edge changes the metric`).toBe(true);
      }
    }, 120_000);
});
