import { Effect } from "effect";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type ModelConfig, randomWeights, siteCatalog } from "../model/index.ts";
import { arbConfig } from "../reference/arbitraries.ts";
import { makeSessionCache } from "../runtime/index.ts";
import { maxAbsDiff, worstMismatch } from "../testing/compare.ts";
import type { InterventionValues } from "./bind.ts";
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

describe("bad plans fail with typed errors before any ORT run", () => {
  const c: ModelConfig = {
    name: "bad",
    family: "zoo",
    dModel: 8,
    nLayers: 1,
    nHeads: 2,
    nKvHeads: 1,
    dHead: 4,
    dMlp: null,
    gatedMlp: false,
    act: "relu",
    vocabSize: 7,
    nCtx: 8,
    positional: "learned",
    rotary: null,
    norm: "none",
    normEps: 1e-5,
    parallelResidual: false,
    attnScale: 0.5,
  };
  const w = randomWeights(c, 1);
  const fails = async (p: Plan, values: { interventions?: InterventionValues[] } = {}) => {
    const exit = await Effect.runPromiseExit(
      Effect.scoped(
        Effect.flatMap(makeSessionCache("bad"), (cache) =>
          Effect.zip(
            Effect.succeed(cache),
            runPlan(cache, { config: c, weights: w }, p, [[1, 2, 3]], values),
          ),
        ),
      ),
    );
    expect(exit._tag).toBe("Failure");
    return String(exit);
  };
  it("unknown site, with suggestions", async () => {
    const s = await fails(
      plan({ interventions: [{ _tag: "scale", target: { site: "blocks.0.attn.zz" } }] }),
      { interventions: [{ factor: 0 }] },
    );
    expect(s).toContain("InputError");
    expect(s).toContain("blocks.0.attn.z");
  });
  it("head out of range", async () => {
    const s = await fails(
      plan({ interventions: [{ _tag: "scale", target: { site: "blocks.0.attn.z", heads: [2] } }] }),
      { interventions: [{ factor: 0 }] },
    );
    expect(s).toContain("heads[0]");
    expect(s).toContain("[0, 2)");
  });
  it("position out of range for an example", async () => {
    const s = await fails(
      plan({ interventions: [{ _tag: "scale", target: { site: "blocks.0.resid_pre", positions: [[5]] } }] }),
      { interventions: [{ factor: 0 }] },
    );
    expect(s).toContain("positions[0][0]");
  });
  it("dimension out of range", async () => {
    const s = await fails(
      plan({ interventions: [{ _tag: "scale", target: { site: "blocks.0.resid_pre", dims: [8] } }] }),
      { interventions: [{ factor: 0 }] },
    );
    expect(s).toContain("dims[0]");
  });
  it("a tensor of the wrong shape", async () => {
    const s = await fails(
      plan({ interventions: [{ _tag: "replace", target: { site: "blocks.0.resid_pre" } }] }),
      {
        interventions: [{ value: { data: new Float32Array(8), shape: [1, 1, 8] } }],
      },
    );
    expect(s).toContain("interventions[0].value");
    expect(s).toContain("[1, 3, 8]");
  });
  it("a rotation that is not orthogonal", async () => {
    const R = { data: Float32Array.from({ length: 16 }, (_, i) => (i % 5 === 0 ? 2 : 0)), shape: [2, 8] };
    const s = await fails(
      plan({
        interventions: [
          { _tag: "subspace", rank: 2, orthogonal: true, target: { site: "blocks.0.resid_pre" } },
        ],
      }),
      {
        interventions: [{ rotation: R, source: { data: new Float32Array(24), shape: [1, 3, 8] } }],
      },
    );
    expect(s).toContain("orthonormal");
  });
});

describe("a compiled plan materialises only what it was asked for", () => {
  it("graph outputs are exactly the captured sites (+ logits and metric when asked)", async () => {
    const { checkPlan, compilePlan } = await import("./run.ts");
    const c: ModelConfig = {
      name: "outputs",
      family: "zoo",
      dModel: 8,
      nLayers: 2,
      nHeads: 2,
      nKvHeads: 1,
      dHead: 4,
      dMlp: 8,
      gatedMlp: true,
      act: "silu",
      vocabSize: 9,
      nCtx: 8,
      positional: "none",
      rotary: { dim: 2, base: 10000, style: "interleaved" },
      norm: "rmsnorm",
      normEps: 1e-5,
      parallelResidual: false,
      attnScale: 0.5,
    };
    const w = randomWeights(c, 3);
    const outputsOf = (p: Plan) =>
      compilePlan(c, w, p, checkPlan(c, p, w))
        .outputs.map((o) => o.name)
        .sort();
    expect(outputsOf(plan({ captures: ["blocks.1.attn.pattern"], logits: false }))).toEqual([
      "blocks.1.attn.pattern",
    ]);
    expect(outputsOf(plan({ captures: ["blocks.0.hook_resid_post"] }))).toEqual([
      "blocks.0.resid_post",
      "logits",
    ]);
    expect(outputsOf(plan({ logits: false, metric: { kind: "logprob" } }))).toEqual([
      "metric",
      "metric_mean",
    ]);
    // No per-head result or per-head input is computed unless asked for.
    const nodes = compilePlan(c, w, plan({}), checkPlan(c, plan({}), w)).nodes;
    const perHeadMatmuls = nodes.filter((n) => n.op === "ReduceSum").length;
    expect(perHeadMatmuls).toBe(0);
  });
});

describe("run-time values never recompile", () => {
  it("one session serves a plan across different positions, heads, dims and values", async () => {
    const c: ModelConfig = {
      name: "variants",
      family: "zoo",
      dModel: 8,
      nLayers: 1,
      nHeads: 2,
      nKvHeads: 2,
      dHead: 4,
      dMlp: 8,
      gatedMlp: false,
      act: "relu",
      vocabSize: 9,
      nCtx: 8,
      positional: "learned",
      rotary: null,
      norm: "layernorm",
      normEps: 1e-5,
      parallelResidual: false,
      attnScale: 0.5,
    };
    const w = randomWeights(c, 2);
    const sizes: number[] = [];
    const logits: Float32Array[] = [];
    await withCache("variants", (cache) =>
      Effect.gen(function* () {
        const m = { config: c, weights: w };
        const variants: [number[][], number[], number][] = [
          [[[0, 1]], [0], 0],
          [[[2]], [1], 0.5],
          [[[1, 2, 3]], [0, 1], 2],
        ];
        for (const [positions, heads, factor] of variants) {
          const r = yield* runPlan(
            cache,
            m,
            plan({
              interventions: [{ _tag: "scale", target: { site: "blocks.0.attn.z", heads, positions } }],
            }),
            [[1, 2, 3, 4]],
            {
              interventions: [{ factor }],
            },
          );
          sizes.push(cache.size());
          logits.push(r.logits!.data);
        }
      }),
    );
    expect(sizes).toEqual([1, 1, 1]);
    // …and the values did take effect.
    expect(maxAbsDiff(logits[0]!, logits[1]!)).toBeGreaterThan(1e-3);
    expect(maxAbsDiff(logits[1]!, logits[2]!)).toBeGreaterThan(1e-3);
  });
});
