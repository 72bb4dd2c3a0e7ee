import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { pearson, scoreSimulation } from "./scoring.ts";

/** Naive r from the textbook one-pass sums: (nΣxy − ΣxΣy) / √((nΣx² − (Σx)²)(nΣy² − (Σy)²)). */
const naive = (x: number[], y: number[]): number => {
  const n = x.length;
  let sx = 0;
  let sy = 0;
  let sxx = 0;
  let syy = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    sx += x[i]!;
    sy += y[i]!;
    sxx += x[i]! * x[i]!;
    syy += y[i]! * y[i]!;
    sxy += x[i]! * y[i]!;
  }
  return (n * sxy - sx * sy) / Math.sqrt((n * sxx - sx * sx) * (n * syy - sy * sy));
};

const vec = (n: number) =>
  fc.array(fc.double({ min: -10, max: 10, noNaN: true }), { minLength: n, maxLength: n });
const pair = fc.integer({ min: 3, max: 40 }).chain((n) => fc.tuple(vec(n), vec(n)));
const spread = (v: number[]) => Math.max(...v) - Math.min(...v) > 1e-3;

describe("pearson", () => {
  it("matches a naive one-pass formula", () => {
    fc.assert(
      fc.property(pair, ([x, y]) => {
        fc.pre(spread(x) && spread(y));
        const r = pearson(x, y);
        expect(r.reason).toBeNull();
        expect(r.value!).toBeCloseTo(naive(x, y), 6);
      }),
      { seed: 11, numRuns: 200 },
    );
  });

  it("is invariant to affine rescaling of the simulation: r(x, a·y + b) = sign(a)·r(x, y)", () => {
    fc.assert(
      fc.property(
        pair,
        fc.double({ min: 0.01, max: 100, noNaN: true }),
        fc.boolean(),
        fc.double({ min: -50, max: 50, noNaN: true }),
        ([x, y], a, neg, b) => {
          fc.pre(spread(x) && spread(y));
          const s = neg ? -a : a;
          const r0 = pearson(x, y).value!;
          const r1 = pearson(
            x,
            y.map((v) => s * v + b),
          ).value!;
          expect(r1).toBeCloseTo(Math.sign(s) * r0, 6);
        },
      ),
      { seed: 12, numRuns: 200 },
    );
  });

  it("constant vectors and short inputs give null with a reason, never NaN", () => {
    expect(pearson([1, 2, 3], [4, 4, 4])).toEqual({ value: null, reason: "constant simulation", n: 3 });
    expect(pearson([0.1, 0.1, 0.1, 0.1], [1, 2, 3, 4])).toEqual({
      value: null,
      reason: "constant real activations",
      n: 4,
    });
    expect(pearson([1], [2]).reason).toBe("fewer than 2 tokens");
    expect(pearson([1, 2, 3], [2, 4, 6]).value).toBeCloseTo(1, 12);
    expect(pearson([1, 2, 3], [6, 4, 2]).value).toBeCloseTo(-1, 12);
  });

  it("scoreSimulation pools all tokens of top and random records (not a mean of per-record r)", () => {
    const top = [
      { tokens: ["a", "b", "c"], activations: [0, 5, 1] },
      { tokens: ["d", "e"], activations: [3, 0] },
    ];
    const random = [{ tokens: ["f", "g", "h"], activations: [0, 0.5, 0] }];
    const simTop = [
      [0, 8, 2],
      [5, 1],
    ];
    const simRandom = [[1, 0, 0]];
    const s = scoreSimulation(top, simTop, random, simRandom);
    expect(s.pooled.n).toBe(8);
    expect(s.pooled.value!).toBeCloseTo(naive([0, 5, 1, 3, 0, 0, 0.5, 0], [0, 8, 2, 5, 1, 1, 0, 0]), 10);
    expect(s.top.value!).toBeCloseTo(naive([0, 5, 1, 3, 0], [0, 8, 2, 5, 1]), 10);
    expect(s.random.value!).toBeCloseTo(naive([0, 0.5, 0], [1, 0, 0]), 10);
  });
});
