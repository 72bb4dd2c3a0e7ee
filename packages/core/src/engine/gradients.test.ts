import { Effect } from "effect";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type ModelConfig, mulberry32, randomWeights } from "../model/index.ts";
import { siteCatalog, siteShape } from "../model/sites.ts";
import { arbConfig } from "../reference/arbitraries.ts";
import { makeSessionCache } from "../runtime/index.ts";
import type { HostTensor } from "../tensor/index.ts";
import type { InterventionValues } from "./bind.ts";
import { gradLabel, runPlan } from "./run.ts";
import { base, metric, metricOf } from "./test-support.ts";
import type { GradTarget, Plan } from "./spec.ts";

/**
 * Gradients of the batch-mean metric from the engine's backward graph against central finite
 * differences of the same metric, for every kind of target: sites (as leaves), intervention
 * parameters and weights. The metric is logit-diff (unsaturated, O(1) curvature); the forward is
 * float32, so ε = 1e-2 and |ad − fd| ≤ 3e-3 + 3e-2·|fd| (the same budget as the op rules: truncation
 * ≈ ε²·f‴ ≈ 1e-4, rounding ≈ 6e-8·|m|/ε).
 */
const EPS = 1e-2;
const close = (ad: number, fd: number, what: string) =>
  expect(Math.abs(ad - fd), `${what}: autodiff ${ad} vs finite difference ${fd}`).toBeLessThanOrEqual(
    3e-3 + 3e-2 * Math.abs(fd),
  );

/** A few coordinates of a tensor, picked by a seeded generator. */
const coords = (n: number, seed: number, k = 3) => {
  const r = mulberry32(seed);
  return Array.from({ length: k }, () => Math.floor(r() * n));
};

const bump = (t: HostTensor, i: number, d: number): HostTensor => {
  const data = t.data.slice();
  data[i]! += d;
  return { data, shape: t.shape };
};

describe("engine gradients = central finite differences", () => {
  it("w.r.t. sites (as leaves), over random models of every family", async () => {
    await fc.assert(
      fc.asyncProperty(arbConfig({ maxLayers: 2 }), fc.nat(), fc.nat(1000), async (c, k, seed) => {
        const w = randomWeights(c, seed);
        const sites = siteCatalog(c).filter(
          (s) => s.dims[0] === "batch" && s.dims[1] === "pos" && s.name !== "logits",
        );
        const site = sites[k % sites.length]!;
        const target: GradTarget = { _tag: "site", site: site.name };
        const r = await metricOf(c, w, base({ gradients: [target] }), { metric: metric(c) });
        const grad = r.grads.get(gradLabel(target))!;
        const shape = siteShape(site, c, 2, 4);
        expect(grad.shape).toEqual(shape);
        // FD: add ±ε at one coordinate of the site through an "add" intervention (full-site tensor).
        const add = base({ interventions: [{ _tag: "add", shape: "full", target: { site: site.name } }] });
        for (const i of coords(grad.data.length, seed)) {
          const delta = (d: number): InterventionValues => {
            const v = new Float32Array(grad.data.length);
            v[i] = d;
            return { value: { data: v, shape } };
          };
          const up = await metricOf(c, w, add, { metric: metric(c), interventions: [delta(EPS)] });
          const down = await metricOf(c, w, add, { metric: metric(c), interventions: [delta(-EPS)] });
          close(grad.data[i]!, (up.metric!.mean - down.metric!.mean) / (2 * EPS), `${site.name}[${i}]`);
        }
      }),
      { numRuns: 12, seed: 21 },
    );
  });

  it("w.r.t. weights, including fused attention and tied embeddings", async () => {
    await fc.assert(
      fc.asyncProperty(arbConfig({ maxLayers: 2 }), fc.nat(1000), async (c, seed) => {
        const w = randomWeights(c, seed);
        const names = [
          "embed.W_E",
          "blocks.0.attn.W_Q",
          "blocks.0.attn.W_K",
          "blocks.0.attn.W_V",
          "blocks.0.attn.W_O",
          "unembed.W_U",
        ]
          .concat(c.dMlp !== null ? ["blocks.0.mlp.W_in", "blocks.0.mlp.W_out"] : [])
          .concat(c.norm !== "none" ? ["blocks.0.ln1.w", "ln_final.w"] : [])
          .concat(c.positional === "learned" ? ["pos_embed.W_pos"] : []);
        const targets: GradTarget[] = names.map((name) => ({ _tag: "weight", name }));
        const r = await metricOf(c, w, base({ gradients: targets }), { metric: metric(c) });
        for (const t of targets) {
          const name = (t as { name: string }).name;
          const grad = r.grads.get(gradLabel(t))!;
          expect(grad.shape).toEqual(w.get(name)!.shape);
          for (const i of coords(grad.data.length, seed + name.length, 2)) {
            const at = (d: number) => new Map(w).set(name, bump(w.get(name)!, i, d));
            const up = await metricOf(c, at(EPS), base({}), { metric: metric(c) });
            const down = await metricOf(c, at(-EPS), base({}), { metric: metric(c) });
            close(grad.data[i]!, (up.metric!.mean - down.metric!.mean) / (2 * EPS), `${name}[${i}]`);
          }
        }
      }),
      { numRuns: 6, seed: 22 },
    );
  });

  it("w.r.t. intervention parameters: steering vector, scale factor, rotation, mask, projection basis", async () => {
    const c: ModelConfig = {
      name: "params",
      family: "zoo",
      dModel: 6,
      nLayers: 2,
      nHeads: 2,
      nKvHeads: 1,
      dHead: 3,
      dMlp: 8,
      gatedMlp: true,
      act: "silu",
      vocabSize: 7,
      nCtx: 8,
      positional: "none",
      rotary: { dim: 2, base: 100, style: "half" },
      norm: "rmsnorm",
      normEps: 1e-5,
      parallelResidual: false,
      attnScale: 0.577,
    };
    const w = randomWeights(c, 9);
    const rand = mulberry32(4);
    const vec = (n: number, shape: number[]) => ({
      data: Float32Array.from({ length: n }, () => rand() - 0.5),
      shape,
    });
    const site = "blocks.1.resid_pre";
    const plan = base({
      interventions: [
        { _tag: "add", shape: "vector", target: { site, positions: [1, 3] } },
        { _tag: "scale", target: { site: "blocks.0.attn.z", heads: [1] } },
        {
          _tag: "subspace",
          rank: 2,
          orthogonal: false,
          target: { site: "blocks.1.attn_out", positions: [2] },
        },
        { _tag: "project-out", rank: 1, target: { site: "blocks.0.mlp_out" } },
      ],
      gradients: [
        { _tag: "param", index: 0, param: "value" },
        { _tag: "param", index: 1, param: "factor" },
        { _tag: "param", index: 2, param: "rotation" },
        { _tag: "param", index: 2, param: "mask" },
        { _tag: "param", index: 3, param: "basis" },
      ],
    });
    const values: InterventionValues[] = [
      { value: vec(6, [6]) },
      { factor: 0.7 },
      { rotation: vec(12, [2, 6]), mask: Float32Array.from([0.3, 0.9]), source: vec(2 * 4 * 6, [2, 4, 6]) },
      { basis: { data: Float32Array.from([0.6, 0, 0.8, 0, 0, 0]), shape: [6, 1] } },
    ];
    const r = await metricOf(c, w, plan, { metric: metric(c), interventions: values });
    const withParam = (
      k: number,
      key: keyof InterventionValues,
      i: number,
      d: number,
    ): InterventionValues[] =>
      values.map((v, j) => {
        if (j !== k) return v;
        const cur = v[key];
        if (typeof cur === "number") return { ...v, [key]: cur + d };
        if (cur instanceof Float32Array)
          return { ...v, [key]: bump({ data: cur, shape: [cur.length] }, i, d).data };
        return { ...v, [key]: bump(cur as HostTensor, i, d) };
      });
    const checks: [number, keyof InterventionValues, string][] = [
      [0, "value", "param:0.value"],
      [1, "factor", "param:1.factor"],
      [2, "rotation", "param:2.rotation"],
      [2, "mask", "param:2.mask"],
    ];
    for (const [k, key, label] of checks) {
      const grad = r.grads.get(label)!;
      for (const i of coords(grad.data.length, k + 1)) {
        const up = await metricOf(c, w, plan, {
          metric: metric(c),
          interventions: withParam(k, key, i, EPS),
        });
        const down = await metricOf(c, w, plan, {
          metric: metric(c),
          interventions: withParam(k, key, i, -EPS),
        });
        close(grad.data[i]!, (up.metric!.mean - down.metric!.mean) / (2 * EPS), `${label}[${i}]`);
      }
    }
    // The projection basis must stay orthonormal when bound, so check its gradient along a
    // rotation of the basis inside the (x0, x2) plane: d/dθ of Q(θ) = (cos θ, 0, sin θ, 0, 0, 0).
    const theta = Math.atan2(0.8, 0.6);
    const at = (t: number): InterventionValues[] =>
      values.map((v, j) =>
        j === 3
          ? { basis: { data: Float32Array.from([Math.cos(t), 0, Math.sin(t), 0, 0, 0]), shape: [6, 1] } }
          : v,
      );
    const up = await metricOf(c, w, plan, { metric: metric(c), interventions: at(theta + EPS) });
    const down = await metricOf(c, w, plan, { metric: metric(c), interventions: at(theta - EPS) });
    const g = r.grads.get("param:3.basis")!.data;
    close(
      g[0]! * -Math.sin(theta) + g[2]! * Math.cos(theta),
      (up.metric!.mean - down.metric!.mean) / (2 * EPS),
      "param:3.basis along dQ/dθ",
    );
  });

  it("a plan with gradients but no metric, or a bad gradient target, is an InputError", async () => {
    const c: ModelConfig = {
      ...(await import("../model/index.ts")).gpt2SmallConfig,
      nLayers: 1,
      dModel: 8,
      nHeads: 2,
      dHead: 4,
      dMlp: 8,
      vocabSize: 9,
      nCtx: 8,
      name: "tiny",
    };
    const w = randomWeights(c, 1);
    const fail = async (p: Plan) => {
      const exit = await Effect.runPromiseExit(
        Effect.scoped(
          Effect.flatMap(makeSessionCache("bad"), (cache) =>
            runPlan(cache, { config: c, weights: w }, p, [[1, 2]], {
              metric: { positions: [[1]], answers: [[1]], wrong: [[2]] },
            }),
          ),
        ),
      );
      return String(exit);
    };
    expect(await fail(base({ metric: undefined, gradients: [{ _tag: "site", site: "embed" }] }))).toContain(
      "a metric to differentiate",
    );
    expect(await fail(base({ gradients: [{ _tag: "weight", name: "blocks.0.attn.W_X" }] }))).toContain(
      "gradients[0].name",
    );
    expect(await fail(base({ gradients: [{ _tag: "param", index: 0, param: "value" }] }))).toContain(
      "gradients[0].index",
    );
    expect(await fail(base({ gradients: [{ _tag: "site", site: "blocks.0.attn.zz" }] }))).toContain(
      "blocks.0.attn.z",
    );
  });
});
