import { Effect } from "effect";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type ModelConfig, randomWeights } from "../model/index.ts";
import { siteCatalog } from "../model/sites.ts";
import { arbConfig } from "../reference/arbitraries.ts";
import { makeSessionCache } from "../runtime/index.ts";
import { maxAbsDiff, worstMismatch } from "../testing/compare.ts";
import { type Plan, plan, runPlan } from "./index.ts";

const withCache = <A, E>(
  name: string,
  f: (cache: Effect.Effect.Success<ReturnType<typeof makeSessionCache>>) => Effect.Effect<A, E>,
) => Effect.runPromise(Effect.scoped(Effect.flatMap(makeSessionCache(name), f)));

const seqsFor = (c: ModelConfig, seed: number, n = 5): number[][] => [
  Array.from({ length: n }, (_, p) => (seed + p * 7) % c.vocabSize),
  Array.from({ length: n }, (_, p) => (seed * 3 + p * 5 + 1) % c.vocabSize),
];

/** A site of the catalogue, picked by an index, that is not the logits. */
const pickSite = (c: ModelConfig, k: number) => {
  const all = siteCatalog(c).filter((s) => s.name !== "logits");
  return all[k % all.length]!;
};

describe("intervention engine invariants (random models of every family)", () => {
  it("replacing a site with its own captured value leaves the logits unchanged", async () => {
    await fc.assert(
      fc.asyncProperty(arbConfig(), fc.nat(), fc.nat(1000), async (c, k, seed) => {
        const w = randomWeights(c, seed);
        const site = pickSite(c, k).name;
        const ids = seqsFor(c, seed);
        await withCache("t", (cache) =>
          Effect.gen(function* () {
            const clean = yield* runPlan(cache, { config: c, weights: w }, plan({ captures: [site] }), ids);
            const patched = yield* runPlan(
              cache,
              { config: c, weights: w },
              plan({ interventions: [{ _tag: "replace", target: { site, positions: [0, 2] } }] }),
              ids,
              { interventions: [{ value: clean.sites.get(site)! }] },
            );
            // Exact up to float32 reordering: touching q/k/v_input or attn.result switches the
            // builder to its per-head form, whose sums run in another order.
            expect(worstMismatch(patched.logits!.data, clean.logits!.data, 1e-5, 1e-4), site).toBeNull();
          }),
        );
      }),
      { numRuns: 15, seed: 1 },
    );
  });

  it("replacing layer 0's resid_pre at all positions with another input's gives that input's logits", async () => {
    await fc.assert(
      fc.asyncProperty(arbConfig(), fc.nat(1000), async (c, seed) => {
        const w = randomWeights(c, seed);
        const [a, b] = seqsFor(c, seed);
        await withCache("t", (cache) =>
          Effect.gen(function* () {
            const m = { config: c, weights: w };
            const src = yield* runPlan(cache, m, plan({ captures: ["blocks.0.resid_pre"] }), [b!]);
            const patched = yield* runPlan(
              cache,
              m,
              plan({ interventions: [{ _tag: "replace", target: { site: "blocks.0.resid_pre" } }] }),
              [a!],
              { interventions: [{ value: src.sites.get("blocks.0.resid_pre")! }] },
            );
            // Rotary and learned positions depend only on positions, identical here, so the
            // patched run is the source run exactly.
            expect(maxAbsDiff(patched.logits!.data, src.logits!.data)).toBeLessThan(1e-6);
          }),
        );
      }),
      { numRuns: 15, seed: 2 },
    );
  });

  it("adding zero is the identity; scaling by 1 is the identity", async () => {
    await fc.assert(
      fc.asyncProperty(arbConfig(), fc.nat(), fc.nat(1000), async (c, k, seed) => {
        const w = randomWeights(c, seed);
        const site = pickSite(c, k);
        const D = site.dims.at(-1)!;
        const size =
          {
            d_model: c.dModel,
            d_head: c.dHead,
            d_mlp: c.dMlp ?? 0,
            d_vocab: c.vocabSize,
            "1": 1,
            key_pos: 5,
          }[D] ?? 5;
        const ids = seqsFor(c, seed);
        await withCache("t", (cache) =>
          Effect.gen(function* () {
            const m = { config: c, weights: w };
            const clean = yield* runPlan(cache, m, plan({}), ids);
            const added = yield* runPlan(
              cache,
              m,
              plan({ interventions: [{ _tag: "add", shape: "vector", target: { site: site.name } }] }),
              ids,
              { interventions: [{ value: { data: new Float32Array(size), shape: [size] } }] },
            );
            const scaled = yield* runPlan(
              cache,
              m,
              plan({ interventions: [{ _tag: "scale", target: { site: site.name } }] }),
              ids,
              {
                interventions: [{ factor: 1 }],
              },
            );
            // Exactly 0 except where touching the site switches the builder to its per-head form
            // (attn.result, q/k/v_input), whose float32 sums run in another order: ≤ 1e-5 then.
            expect(maxAbsDiff(added.logits!.data, clean.logits!.data), site.name).toBeLessThan(1e-5);
            expect(maxAbsDiff(scaled.logits!.data, clean.logits!.data), site.name).toBeLessThan(1e-5);
            expect(maxAbsDiff(added.logits!.data, scaled.logits!.data), site.name).toBe(0);
          }),
        );
      }),
      { numRuns: 15, seed: 3 },
    );
  });

  it("interchanging and then interchanging back is the identity", async () => {
    await fc.assert(
      fc.asyncProperty(arbConfig(), fc.nat(), fc.nat(1000), async (c, k, seed) => {
        const w = randomWeights(c, seed);
        const site = pickSite(c, k).name;
        const [base, source] = seqsFor(c, seed);
        await withCache("t", (cache) =>
          Effect.gen(function* () {
            const m = { config: c, weights: w };
            const cap = plan({ captures: [site] });
            const b0 = yield* runPlan(cache, m, cap, [base!]);
            const s0 = yield* runPlan(cache, m, cap, [source!]);
            const swap = plan({
              captures: [site],
              interventions: [{ _tag: "replace", target: { site, positions: [[1, 3]] } }],
            });
            const there = yield* runPlan(cache, m, swap, [base!], {
              interventions: [{ value: s0.sites.get(site)! }],
            });
            const back = yield* runPlan(cache, m, swap, [base!], {
              interventions: [{ value: b0.sites.get(site)! }],
            });
            expect(maxAbsDiff(back.logits!.data, b0.logits!.data), site).toBeLessThan(1e-6);
            void there;
          }),
        );
      }),
      { numRuns: 15, seed: 4 },
    );
  });
});

describe("metrics in the graph match naive computations on the logits", () => {
  const c: ModelConfig = {
    name: "metric-test",
    family: "zoo",
    dModel: 12,
    nLayers: 1,
    nHeads: 2,
    nKvHeads: 2,
    dHead: 6,
    dMlp: 16,
    gatedMlp: false,
    act: "gelu",
    vocabSize: 9,
    nCtx: 8,
    positional: "learned",
    rotary: null,
    norm: "layernorm",
    normEps: 1e-5,
    parallelResidual: false,
    attnScale: 1 / Math.sqrt(6),
  };
  const w = randomWeights(c, 5);
  const ids = [
    [1, 2, 3, 4],
    [5, 6],
  ];
  const positions = [[3, 1], [1]];
  const answers = [[7, 2], [4]];
  const wrong = [[1, 0], [8]];
  const row = (logits: Float32Array, P: number, b: number, p: number) =>
    Array.from(logits.subarray((b * P + p) * 9, (b * P + p + 1) * 9));
  const logSoftmax = (r: number[]) => {
    const m = Math.max(...r);
    const lse = m + Math.log(r.reduce((s, x) => s + Math.exp(x - m), 0));
    return r.map((x) => x - lse);
  };
  const naive = (
    logits: Float32Array,
    f: (r: number[], a: number, wr: number, b: number, j: number) => number,
  ) =>
    positions.map(
      (ps, b) =>
        ps.reduce((s, p, j) => s + f(row(logits, 4, b, p), answers[b]![j]!, wrong[b]![j]!, b, j), 0) /
        ps.length,
    );

  const cases: [Plan["metric"] & {}, (r: number[], a: number, wr: number) => number][] = [
    [{ kind: "logit-diff" }, (r, a, wr) => r[a]! - r[wr]!],
    [{ kind: "logprob" }, (r, a) => logSoftmax(r)[a]!],
    [{ kind: "prob" }, (r, a) => Math.exp(logSoftmax(r)[a]!)],
    [{ kind: "prob-diff" }, (r, a, wr) => Math.exp(logSoftmax(r)[a]!) - Math.exp(logSoftmax(r)[wr]!)],
    [{ kind: "cross-entropy" }, (r, a) => -logSoftmax(r)[a]!],
  ];
  for (const [metric, f] of cases) {
    it(metric.kind, async () => {
      await withCache("m", (cache) =>
        Effect.gen(function* () {
          const r = yield* runPlan(cache, { config: c, weights: w }, plan({ metric }), ids, {
            metric: { positions, answers, wrong },
          });
          const expected = naive(r.logits!.data, f);
          expect(maxAbsDiff(r.metric!.perExample, expected)).toBeLessThan(1e-5);
          expect(r.metric!.mean).toBeCloseTo((expected[0]! + expected[1]!) / 2, 5);
        }),
      );
    });
  }

  it("kl to a reference is 0 against itself and matches the naive sum otherwise", async () => {
    await withCache("m", (cache) =>
      Effect.gen(function* () {
        const m = { config: c, weights: w };
        const clean = yield* runPlan(cache, m, plan({}), ids);
        const P = 4;
        const refAt = (logits: Float32Array) => {
          const out = new Float32Array(2 * 2 * 9);
          positions.forEach((ps, b) => {
            ps.forEach((p, j) => {
              out.set(row(logits, P, b, p), (b * 2 + j) * 9);
            });
          });
          return { data: out, shape: [2, 2, 9] };
        };
        const self = yield* runPlan(cache, m, plan({ metric: { kind: "kl" } }), ids, {
          metric: { positions, answers, reference: refAt(clean.logits!.data) },
        });
        expect(Math.max(...self.metric!.perExample.map(Math.abs))).toBeLessThan(1e-6);
        // Against a perturbed reference: Σ p_ref (log p_ref − log p).
        const ref = refAt(clean.logits!.data.map((x, i) => x + Math.sin(i)));
        const other = yield* runPlan(cache, m, plan({ metric: { kind: "kl" } }), ids, {
          metric: { positions, answers, reference: ref },
        });
        const expected = positions.map(
          (ps, b) =>
            ps.reduce((s, p, j) => {
              const lr = logSoftmax(Array.from(ref.data.subarray((b * 2 + j) * 9, (b * 2 + j + 1) * 9)));
              const lp = logSoftmax(row(clean.logits!.data, P, b, p));
              return s + lr.reduce((acc, l, v) => acc + Math.exp(l) * (l - lp[v]!), 0);
            }, 0) / ps.length,
        );
        expect(maxAbsDiff(other.metric!.perExample, expected)).toBeLessThan(1e-5);
      }),
    );
  });
});
