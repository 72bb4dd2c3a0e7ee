import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { type ModelConfig, randomWeights } from "../model/index.ts";
import { makeSessionCache } from "../runtime/index.ts";
import { maxAbsDiff } from "../testing/compare.ts";
import type { InterventionValues } from "./bind.ts";
import { type Plan, plan, runPlan } from "./index.ts";

/** Plans as the engine checks and compiles them: typed errors before a run, outputs, session reuse. */

const withCache = <A, E>(
  name: string,
  f: (cache: Effect.Effect.Success<ReturnType<typeof makeSessionCache>>) => Effect.Effect<A, E>,
) => Effect.runPromise(Effect.scoped(Effect.flatMap(makeSessionCache(name), f)));

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
