import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { HostTensor } from "@patchbay/core";
import { type AdamOptions, adamInit, adamStep, learningRate } from "./adam.ts";

/**
 * Adam against a naive scalar implementation written from the paper (Kingma & Ba, Algorithm 1,
 * with AdamW's decoupled decay and a linear warmup), on the quadratic f(x) = ½ Σ a_i (x_i − b_i)²
 * whose gradient is a ⊙ (x − b).
 */
const naiveAdam = (
  x0: number[],
  a: number[],
  b: number[],
  steps: number,
  o: Required<Omit<AdamOptions, "decay" | "clipNorm">>,
) => {
  const x = x0.map((v) => Math.fround(v));
  const m = x.map(() => 0);
  const v = x.map(() => 0);
  for (let t = 1; t <= steps; t++) {
    const lr = o.warmup > 0 ? (o.lr * Math.min(t, o.warmup)) / o.warmup : o.lr;
    for (let i = 0; i < x.length; i++) {
      const g = Math.fround(a[i]! * (x[i]! - b[i]!));
      m[i] = o.beta1 * m[i]! + (1 - o.beta1) * g;
      v[i] = o.beta2 * v[i]! + (1 - o.beta2) * g * g;
      const mHat = m[i]! / (1 - o.beta1 ** t);
      const vHat = v[i]! / (1 - o.beta2 ** t);
      x[i] = Math.fround(x[i]! - lr * (mHat / (Math.sqrt(vHat) + o.eps) + o.weightDecay * x[i]!));
    }
  }
  return x;
};

const run = (x0: number[], a: number[], b: number[], steps: number, opts: AdamOptions) => {
  let w = new Map<string, HostTensor>([["x", { data: Float32Array.from(x0), shape: [2, x0.length / 2] }]]);
  let s = adamInit(w);
  for (let t = 0; t < steps; t++) {
    const x = w.get("x")!.data;
    const g = Float32Array.from(x, (xi, i) => a[i]! * (xi - b[i]!));
    const r = adamStep(w, new Map([["x", { data: g }]]), s, opts);
    w = r.weights;
    s = r.state;
  }
  return [...w.get("x")!.data];
};

describe("Adam", () => {
  it("matches a naive implementation on random quadratics (warmup, weight decay)", () => {
    fc.assert(
      fc.property(
        fc
          .array(
            fc.tuple(
              fc.double({ min: 0.1, max: 5, noNaN: true }),
              fc.double({ min: -3, max: 3, noNaN: true }),
              fc.double({ min: -3, max: 3, noNaN: true }),
            ),
            { minLength: 1, maxLength: 5 },
          )
          .map((xs) => [...xs, ...xs]),
        fc.constantFrom(0, 0.01, 0.1),
        fc.constantFrom(0, 5),
        (coef, weightDecay, warmup) => {
          const a = coef.map((c) => c[0]);
          const b = coef.map((c) => c[1]);
          const x0 = coef.map((c) => c[2]);
          const o = { lr: 0.05, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay, warmup };
          const got = run(x0, a, b, 40, o);
          const want = naiveAdam(x0, a, b, 40, o);
          for (let i = 0; i < got.length; i++)
            expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(want[i]!)));
        },
      ),
      { numRuns: 50, seed: 3 },
    );
  });

  it("converges on a quadratic and the first step moves every coordinate by lr (sign of the gradient)", () => {
    const a = [1, 4, 0.5, 2];
    const b = [1, -2, 3, 0.5];
    const x0 = [0, 0, 0, 0];
    const one = run(x0, a, b, 1, { lr: 0.1 });
    for (const [i, x] of one.entries()) expect(Math.abs(x - 0.1 * Math.sign(b[i]!))).toBeLessThan(1e-6);
    const far = run(x0, a, b, 2000, { lr: 0.05 });
    for (const [i, x] of far.entries()) expect(Math.abs(x - b[i]!)).toBeLessThan(1e-2);
  });

  it("warmup is linear, weight decay skips vectors by default, clipping bounds the step", () => {
    expect(learningRate({ lr: 1, warmup: 4 }, 1)).toBe(0.25);
    expect(learningRate({ lr: 1, warmup: 4 }, 9)).toBe(1);
    const w = new Map<string, HostTensor>([
      ["m", { data: Float32Array.of(1, 1), shape: [1, 2] }],
      ["v", { data: Float32Array.of(1, 1), shape: [2] }],
    ]);
    const zero = new Map([
      ["m", { data: new Float32Array(2) }],
      ["v", { data: new Float32Array(2) }],
    ]);
    const r = adamStep(w, zero, adamInit(w), { lr: 0.1, weightDecay: 0.5 });
    expect([...r.weights.get("m")!.data]).toEqual([Math.fround(0.95), Math.fround(0.95)]);
    expect([...r.weights.get("v")!.data]).toEqual([1, 1]);
    const big = new Map([
      ["m", { data: Float32Array.of(300, 400) }],
      ["v", { data: new Float32Array(2) }],
    ]);
    const c = adamStep(w, big, adamInit(w), { lr: 0.1, clipNorm: 1 });
    expect(c.gradNorm).toBeCloseTo(500, 3);
    expect(c.state.m.get("m")![0]).toBeCloseTo(0.1 * 0.6, 9);
  });
});
