import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { HostTensor } from "../tensor/index.ts";
import { InputError } from "../errors/index.ts";
import { type AdamOptions, adamInit, adamStep, adamStepInPlace, learningRate } from "./adam.ts";

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
  o: Required<Omit<AdamOptions, "decay" | "clipNorm" | "lrAt">>,
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

  it("in place on float64 (the SAEs' Adam): bit-identical to its own loop, lr on the moment", () => {
    // the SAE trainer's former update, verbatim: θ ← θ − (lr·m̂) / (√v̂ + ε), in place
    const saeLoop = (p: Float64Array, gs: Float64Array[], lr: number, b1: number, b2: number) => {
      const m = new Float64Array(p.length);
      const v = new Float64Array(p.length);
      for (let t = 1; t <= gs.length; t++) {
        const c1 = 1 - b1 ** t;
        const c2 = 1 - b2 ** t;
        const g = gs[t - 1]!;
        for (let k = 0; k < p.length; k++) {
          m[k] = b1 * m[k]! + (1 - b1) * g[k]!;
          v[k] = b2 * v[k]! + (1 - b2) * g[k]! * g[k]!;
          p[k]! -= (lr * (m[k]! / c1)) / (Math.sqrt(v[k]! / c2) + 1e-8);
        }
      }
    };
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -3, max: 3, noNaN: true }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer(),
        (p0, steps, seed) => {
          const gs = Array.from({ length: steps }, (_, t) =>
            Float64Array.from(p0, (x, k) => Math.sin(seed + 7 * t + 3 * k) * (1 + Math.abs(x))),
          );
          const want = Float64Array.from(p0);
          saeLoop(want, gs, 3e-3, 0.9, 0.99);
          const p = Float64Array.from(p0);
          const params = new Map([["p", p]]);
          let st = adamInit(new Map([["p", { data: p }]]));
          for (const g of gs)
            st = adamStepInPlace(params, new Map([["p", g]]), st, {
              lr: 3e-3,
              beta1: 0.9,
              beta2: 0.99,
              lrAt: "moment",
            });
          expect(st.t).toBe(steps);
          expect([...p]).toEqual([...want]); // exact, not close
        },
      ),
      { numRuns: 100, seed: 5 },
    );
  });

  it("lrAt changes only the rounding; in place refuses weight decay and clipping with an InputError", () => {
    const w = new Map<string, HostTensor>([["w", { data: Float32Array.of(0.3, -1.7, 2.5), shape: [3] }]]);
    const g = new Map([["w", { data: Float32Array.of(0.11, -0.7, 1e-3) }]]);
    const a = adamStep(w, g, adamInit(w), { lr: 0.013 }).weights.get("w")!.data;
    const b = adamStep(w, g, adamInit(w), { lr: 0.013, lrAt: "moment" }).weights.get("w")!.data;
    for (let i = 0; i < 3; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThanOrEqual(1e-6);
    const p = new Map([["p", new Float64Array(2)]]);
    const st = adamInit(new Map([["p", { data: p.get("p")! }]]));
    const grads = new Map([["p", new Float64Array(2)]]);
    expect(() => adamStepInPlace(p, grads, st, { lr: 1, weightDecay: 0.1 })).toThrow(InputError);
    expect(() => adamStepInPlace(p, grads, st, { lr: 1, clipNorm: 1 })).toThrow(InputError);
  });
});
