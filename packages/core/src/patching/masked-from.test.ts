import { Effect } from "effect";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type MetricBinding, plan, runPlan } from "../engine/index.ts";
import type { MetricKind } from "../engine/spec.ts";
import { type EdgeLayout, edgeLayout, type Granularity } from "../edges/index.ts";
import { type Model, mulberry32, randomWeights } from "../model/index.ts";
import { arbConfig } from "../reference/arbitraries.ts";
import { makeSessionCache, type SessionCache } from "../runtime/index.ts";
import { worstMismatch } from "../testing/compare.ts";
import { loadableFixtures, testdataPath } from "../testing/testdata.ts";
import { loadModelSync } from "../weights/index.ts";
import { startLayer } from "./downstream.ts";
import { ablatedSources, cleanStreams, evaluateMasksFrom } from "./index.ts";

/**
 * The edge-masked model downstream of layer L (rows start at L's clean resid_pre, the sources
 * before L one per-example Δ) against the full edge-masked graph, for masks that remove only edges
 * into destinations at L or later (what ACDC's masks are while it visits layer L): the same metric
 * per mask and example, on random configs of every family and on every real fixture.
 */
const withCache = <A, E>(f: (cache: SessionCache) => Effect.Effect<A, E>) =>
  Effect.runPromise(Effect.scoped(Effect.flatMap(makeSessionCache("masked-from-test", { threads: 1 }), f)));

const GRANULARITIES: readonly Granularity[] = ["head", "head-qkv", "layer"];

/** M random masks removing (0, or a fraction) edges into destinations at `layer` or later only. */
const randomMasks = (layout: EdgeLayout, nLayers: number, layer: number, M: number, seed: number) => {
  const rand = mulberry32(seed);
  const D = layout.destinations.length;
  return Array.from({ length: M }, () => {
    const m = new Float32Array(layout.sources.length * D).fill(1);
    const p = rand(); //                                           how much of the graph this mask removes
    for (const e of layout.edges) {
      const v = layout.destinations[e.destination]!;
      if ((v.layer ?? nLayers) < layer || rand() > p) continue;
      m[e.source * D + e.destination] = rand() < 0.8 ? 0 : rand();
    }
    return m;
  });
};

/** The full edge-masked graph on M·N rows (mask-major, z′ tiled per row): the oracle. */
const fullGraph = (
  cache: SessionCache,
  m: Model,
  layout: EdgeLayout,
  metric: MetricKind,
  seqs: readonly (readonly number[])[],
  binding: MetricBinding,
  ablated: { data: Float32Array; shape: readonly number[] },
  masks: readonly Float32Array[],
) =>
  Effect.gen(function* () {
    const N = seqs.length;
    const S = layout.sources.length;
    const D = layout.destinations.length;
    const rows = masks.length * N;
    const mask = new Float32Array(rows * S * D);
    for (let r = 0; r < rows; r++) mask.set(masks[Math.floor(r / N)]!, r * S * D);
    const per = ablated.data.length / N;
    const tiled = new Float32Array(rows * per);
    for (let r = 0; r < rows; r++)
      tiled.set(ablated.data.subarray((r % N) * per, ((r % N) + 1) * per), r * per);
    const pick = <A>(xs: readonly A[]) => Array.from({ length: rows }, (_, r) => xs[r % N]!);
    const ref = binding.reference;
    const r = yield* runPlan(
      cache,
      m,
      plan({ edges: { granularity: layout.granularity }, metric: { kind: metric }, logits: false }),
      pick(seqs),
      {
        edges: {
          mask: { data: mask, shape: [rows, S, D] },
          ablated: { data: tiled, shape: [rows, ...ablated.shape.slice(1)] },
        },
        metric: {
          positions: pick(binding.positions),
          answers: pick(binding.answers),
          ...(binding.wrong !== undefined ? { wrong: pick(binding.wrong) } : {}),
          ...(ref !== undefined
            ? {
                reference: {
                  data: Float32Array.from({ length: rows * (ref.data.length / N) }, (_, i) => {
                    const per = ref.data.length / N;
                    return ref.data[(Math.floor(i / per) % N) * per + (i % per)]!;
                  }),
                  shape: [rows, ...ref.shape.slice(1)],
                },
              }
            : {}),
        },
      },
    );
    return r.metric!.perExample;
  });

/** Both paths for every start layer with random masks; the worst mismatch (null when they agree). */
const compare = (
  cache: SessionCache,
  m: Model,
  granularity: Granularity,
  metric: MetricKind,
  seqs: readonly (readonly number[])[],
  seed: number,
  maxRows?: number,
) =>
  Effect.gen(function* () {
    const c = m.config;
    const V = c.vocabSize;
    const N = seqs.length;
    const layout = edgeLayout(c, granularity);
    const rand = mulberry32(seed + 1);
    const binding: MetricBinding = {
      positions: seqs.map((s) => [s.length - 1, Math.max(0, s.length - 3)]),
      answers: seqs.map((_, b) => [(b * 7 + 1) % V, (b * 5 + 2) % V]),
      wrong: seqs.map((_, b) => [(b * 3 + 4) % V, (b * 11 + 3) % V]),
      ...(metric === "kl"
        ? {
            reference: {
              data: Float32Array.from({ length: N * 2 * V }, () => 4 * rand() - 2),
              shape: [N, 2, V],
            },
          }
        : {}),
    };
    const ablated = yield* ablatedSources(cache, m, layout, "resample", seqs, {
      corrupted: seqs.map((s) => [...s].reverse()),
    });
    const layers = Array.from({ length: c.nLayers + 1 }, (_, l) => l);
    const clean = yield* cleanStreams(cache, m, layout, seqs, ablated, layers);
    const out: { layer: number; mismatch: ReturnType<typeof worstMismatch>; moved: boolean }[] = [];
    for (const layer of layers) {
      const masks = [
        new Float32Array(layout.sources.length * layout.destinations.length).fill(1),
        ...randomMasks(layout, c.nLayers, layer, 1 + (seed % 4), seed * 31 + layer),
      ];
      const fast = yield* evaluateMasksFrom(
        cache,
        m,
        layout,
        metric,
        seqs,
        clean,
        ablated,
        binding,
        layer,
        masks,
        maxRows,
      );
      const full = yield* fullGraph(cache, m, layout, metric, seqs, binding, ablated, masks);
      out.push({
        layer,
        mismatch: worstMismatch(fast.perExample, full, 1e-4, 1e-3),
        moved: full.some((x, i) => Math.abs(x - full[i % N]!) > 1e-3),
      });
    }
    return { out, layout };
  });

describe("edge masks downstream of layer L = the full edge-masked graph", () => {
  it("random configs of every family, every granularity and start layer (fast-check)", async () => {
    await fc.assert(
      fc.asyncProperty(
        arbConfig({ maxLayers: 3 }),
        fc.constantFrom(...GRANULARITIES),
        fc.constantFrom<MetricKind>("logit-diff", "logprob", "prob-diff", "kl"),
        fc.nat(500),
        fc.integer({ min: 1, max: 7 }),
        async (c, granularity, metric, seed, maxRows) => {
          const m = { config: c, weights: randomWeights(c, seed) };
          const n = Math.min(6, c.nCtx);
          const seq = (k: number, len: number) =>
            Array.from({ length: len }, (_, p) => (seed * (k + 3) + p * (2 * k + 5) + k) % c.vocabSize);
          const seqs = [seq(0, n), seq(1, Math.max(3, n - 2)), seq(2, n)]; // ragged: padding rows too
          const r = await withCache((cache) => compare(cache, m, granularity, metric, seqs, seed, maxRows));
          for (const x of r.out)
            expect(x.mismatch, `${c.name} ${granularity} ${metric} from layer ${x.layer}`).toBeNull();
        },
      ),
      { numRuns: 14, seed: 17 },
    );
  }, 300_000);

  it("a mask removing an edge into a destination before the start layer is an InputError naming it", async () => {
    const m = loadModelSync(testdataPath("fixtures", "tiny-gpt2"));
    const layout = edgeLayout(m.config);
    const seqs = [[1, 2, 3, 4]];
    const exit = await withCache((cache) =>
      Effect.gen(function* () {
        const ablated = yield* ablatedSources(cache, m, layout, "zero", seqs);
        const clean = yield* cleanStreams(cache, m, layout, seqs, ablated, [1]);
        const mask = new Float32Array(layout.sources.length * layout.destinations.length).fill(1);
        const e = layout.edges.find((x) => x.name === "input->a0.h0<k>")!;
        mask[e.source * layout.destinations.length + e.destination] = 0;
        const binding = { positions: [[3]], answers: [[1]], wrong: [[2]] };
        return yield* Effect.either(
          evaluateMasksFrom(cache, m, layout, "logit-diff", seqs, clean, ablated, binding, 1, [mask]),
        );
      }),
    );
    expect(exit._tag).toBe("Left");
    expect(JSON.stringify(exit)).toContain("input->a0.h0<k>");
    expect(startLayer(m.config, layout.destinations[0]!)).toBe(0);
  });

  const names = loadableFixtures();
  for (const name of names)
    it(`${name}: every granularity and start layer`, async () => {
      const m = loadModelSync(testdataPath("fixtures", name));
      const V = m.config.vocabSize;
      const seq = (k: number, len: number) =>
        Array.from({ length: len }, (_, p) => (k * 11 + p * (2 * k + 3) + 1) % V);
      const seqs = [seq(0, 7), seq(1, 5)];
      for (const granularity of GRANULARITIES) {
        const r = await withCache((cache) => compare(cache, m, granularity, "logit-diff", seqs, 7, 3));
        for (const x of r.out) expect(x.mismatch, `${granularity} from layer ${x.layer}`).toBeNull();
        expect(
          r.out.some((x) => x.moved),
          `${granularity}: some mask changes the metric`,
        ).toBe(true);
      }
    }, 120_000);
});
