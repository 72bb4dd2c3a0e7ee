import { Effect } from "effect";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { GraphBuilder, Value } from "../graph/index.ts";
import { type ModelConfig, randomWeights, type Weights } from "../model/index.ts";
import { siteCatalog } from "../model/sites.ts";
import { arbConfig } from "../reference/arbitraries.ts";
import { referenceForward } from "../reference/index.ts";
import { makeBatch } from "./batch.ts";
import { feeds, toHost } from "./forward.ts";
import { forward, makeSessionCache } from "./index.ts";
import { worstMismatch } from "../testing/compare.ts";
import { buildTransformerGraph, type SiteHooks } from "../transformer/index.ts";

/**
 * The ONNX graph against the naive float64 reference, site by site, over random small models of
 * every family shape. Tolerance: the graph computes in float32 with a different summation order,
 * so values of O(1) agree to ~1e-6 relative per op; a few layers of that stay well inside
 * 2e-4 + 2e-3·|x|. Masked scores must be −∞ on both sides exactly.
 */
const ATOL = 2e-4;
const RTOL = 2e-3;

/** Identity hooks that "touch" the given sites, forcing the builder's general per-head forms. */
const touching = (sites: string[]): SiteHooks => ({
  touched: new Set(sites),
  at: (_s: string, v: Value, _g: GraphBuilder) => v,
});

const runGraph = (c: ModelConfig, w: Weights, ids: number[][], capture: string[], hooks?: SiteHooks) =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const cache = yield* makeSessionCache(c.name);
        if (hooks === undefined) return yield* forward(cache, { config: c, weights: w }, ids, capture);
        // Build directly with hooks, below the engine's plan layer (which does this through the cache).
        const { graph } = buildTransformerGraph(c, w, { capture, hooks });
        const session = yield* cache.get("hooked", () => graph);
        const batch = makeBatch(c, ids);
        const out = yield* Effect.promise(() => session.run(feeds(batch, session.inputNames)));
        return {
          logits: toHost(out.logits!),
          sites: new Map(capture.map((s) => [s, toHost(out[s]!)])),
          lengths: batch.lengths,
        };
      }),
    ),
  );

const arbCaseOf = (configs: fc.Arbitrary<ModelConfig>) =>
  configs.chain((c) =>
    fc.record({
      config: fc.constant(c),
      seed: fc.integer({ min: 0, max: 1_000_000 }),
      ids: fc
        .array(fc.array(fc.integer({ min: 0, max: c.vocabSize - 1 }), { minLength: 1, maxLength: 6 }), {
          minLength: 1,
          maxLength: 2,
        })
        .map((seqs) => seqs.map((s) => [...s, ...Array(6 - s.length).fill(0)].slice(0, 6))),
    }),
  );
const arbCase = arbCaseOf(arbConfig());

const compareAll = async (c: ModelConfig, seed: number, ids: number[][], general: boolean) => {
  const w = randomWeights(c, seed);
  const sites = siteCatalog(c).map((s) => s.name);
  const hooks = general
    ? touching(sites.filter((s) => /attn\.(q|k|v)_input$|attn\.result$/.test(s)))
    : undefined;
  const got = await runGraph(c, w, ids, sites, hooks);
  const ref = referenceForward(c, w, ids, { sites: "all" });
  for (const s of sites) {
    const a = got.sites.get(s)!;
    const e = ref.sites.get(s);
    expect(e, `reference lacks site ${s}`).toBeDefined();
    expect(a.shape, `shape of ${s}`).toEqual(e!.shape);
    const bad = worstMismatch(a.data, e!.data, ATOL, RTOL);
    expect(bad, `site ${s} of ${JSON.stringify(c)}`).toBeNull();
  }
  expect(worstMismatch(got.logits.data, ref.logits.data, ATOL, RTOL)).toBeNull();
};

describe("ONNX graph = naive reference at every site", () => {
  it("fast path (fused projections), random configs of every family", async () => {
    await fc.assert(
      fc.asyncProperty(arbCase, ({ config, seed, ids }) => compareAll(config, seed, ids, false)),
      {
        numRuns: 25,
        seed: 7,
      },
    );
  });

  it("general path (per-head inputs, per-head results), random configs", async () => {
    await fc.assert(
      fc.asyncProperty(arbCase, ({ config, seed, ids }) => compareAll(config, seed, ids, true)),
      {
        numRuns: 20,
        seed: 11,
      },
    );
  });

  it("rescaled rotary frequencies (Llama 3.1 bands, llama.cpp divisors), both paths", async () => {
    const scaled = arbCaseOf(arbConfig({ rotary: true, ropeScaling: true }));
    await fc.assert(
      fc.asyncProperty(scaled, fc.boolean(), ({ config, seed, ids }, general) =>
        compareAll(config, seed, ids, general),
      ),
      { numRuns: 12, seed: 16 },
    );
  });

  it("a padded batch gives each sequence the logits it gets alone", async () => {
    await fc.assert(
      fc.asyncProperty(
        arbConfig(),
        fc.integer({ min: 0, max: 1000 }),
        fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 2, maxLength: 3 }),
        async (c, seed, lengths) => {
          const w = randomWeights(c, seed);
          const seqs = lengths.map((n, b) =>
            Array.from({ length: n }, (_, p) => (b * 7 + p * 3 + seed) % c.vocabSize),
          );
          const together = await runGraph(c, w, seqs, []);
          const P = Math.max(...lengths);
          const V = c.vocabSize;
          for (let b = 0; b < seqs.length; b++) {
            const alone = await runGraph(c, w, [seqs[b]!], []);
            const n = lengths[b]!;
            const rows = together.logits.data.subarray(b * P * V, b * P * V + n * V);
            expect(worstMismatch(rows, alone.logits.data, 1e-5, 1e-5)).toBeNull();
          }
        },
      ),
      { numRuns: 10, seed: 3 },
    );
  });
});
