import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { boundlessMask, boundlessMaskVjp, subspaceSize, temperature } from "./boundless.ts";
import { dot } from "./matrix.ts";
import { centralDifference, randn, relativeError } from "./testing.ts";

const naiveSigmoid = (x: number) => 1 / (1 + Math.exp(-x));

describe("boundless mask", () => {
  it("is σ((i − lo)/T)·σ((hi − i)/T)", () => {
    const m = boundlessMask(8, { lo: 1.3, hi: 5.2 }, 2);
    for (let i = 0; i < 8; i++)
      expect(m[i]!).toBeCloseTo(naiveSigmoid((i - 1.3) / 2) * naiveSigmoid((5.2 - i) / 2), 15);
  });

  it("at T = 0.1 is nearly the 0/1 indicator of lo < i < hi, and Σ m reads off the size", () => {
    // half a coordinate from an edge at T = 0.1 is σ(±5): within 1 − σ(5) ≈ 0.0067 of 0/1
    const m = boundlessMask(10, { lo: 2.5, hi: 6.5 }, 0.1);
    const want = [0, 0, 0, 1, 1, 1, 1, 0, 0, 0];
    want.forEach((w, i) => {
      expect(Math.abs(m[i]! - w)).toBeLessThan(0.007);
    });
    expect(Math.abs(subspaceSize(m) - 4)).toBeLessThan(0.03);
    // at T = 1 the edge coordinates are still far from binary
    const soft = boundlessMask(10, { lo: 2.5, hi: 6.5 }, 1);
    expect(soft[3]!).toBeLessThan(0.7);
    expect(soft[2]!).toBeGreaterThan(0.3);
  });

  it("at T = 50 is smooth: every coordinate is about 1/4 and none is binary", () => {
    const m = boundlessMask(10, { lo: 2.5, hi: 6.5 }, 50);
    for (const x of m) {
      expect(x).toBeGreaterThan(0.2);
      expect(x).toBeLessThan(0.3);
    }
  });

  it("stays finite and in [0, 1] at extreme arguments (D = 768, T = 0.1)", () => {
    const m = boundlessMask(768, { lo: -40, hi: 900 }, 0.1);
    for (const x of m) expect(x >= 0 && x <= 1).toBe(true);
    const g = boundlessMaskVjp(768, { lo: 300, hi: 301 }, 0.1, new Float64Array(768).fill(1));
    expect(Number.isFinite(g.lo) && Number.isFinite(g.hi)).toBe(true);
  });

  it("VJP matches finite differences in lo and hi (T from 0.1 to 50)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.double({ min: -3, max: 15, noNaN: true }),
        fc.double({ min: 0, max: 20, noNaN: true }),
        fc.constantFrom(0.1, 0.5, 1, 3, 10, 50),
        fc.nat(),
        (d, lo, width, t, seed) => {
          const dm = randn(seed, d);
          const hi = lo + width;
          const g = boundlessMaskVjp(d, { lo, hi }, t, dm);
          const h = 1e-4 * t; // the mask varies on the scale T
          const fdLo = centralDifference((e) => dot(dm, boundlessMask(d, { lo: lo + e, hi }, t)), h);
          const fdHi = centralDifference((e) => dot(dm, boundlessMask(d, { lo, hi: hi + e }, t)), h);
          expect(relativeError(fdLo, g.lo, 1e-4)).toBeLessThan(1e-6);
          expect(relativeError(fdHi, g.hi, 1e-4)).toBeLessThan(1e-6);
        },
      ),
      { seed: 101, numRuns: 200 },
    );
  });

  it("gradient pushes the bounds the right way: more mask wanted ⇒ lo down, hi up", () => {
    const g = boundlessMaskVjp(10, { lo: 3, hi: 6 }, 1, new Float64Array(10).fill(-1)); // dL/dm < 0
    expect(g.lo).toBeGreaterThan(0); // descent moves lo by −g.lo < 0
    expect(g.hi).toBeLessThan(0);
  });
});

describe("temperature", () => {
  it("anneals linearly from 50 to 0.1 by default, ending on the last step", () => {
    expect(temperature(0, 101)).toBe(50);
    expect(temperature(100, 101)).toBeCloseTo(0.1, 12);
    expect(temperature(50, 101)).toBeCloseTo(25.05, 12);
    for (let s = 1; s < 101; s++) expect(temperature(s, 101)).toBeLessThan(temperature(s - 1, 101));
  });

  it("exponential has a constant ratio per step and the geometric mean midway", () => {
    const opts = { schedule: "exponential" } as const;
    expect(temperature(0, 11, opts)).toBeCloseTo(50, 12);
    expect(temperature(10, 11, opts)).toBeCloseTo(0.1, 12);
    expect(temperature(5, 11, opts)).toBeCloseTo(Math.sqrt(5), 12);
    const r = temperature(1, 11, opts) / temperature(0, 11, opts);
    expect(temperature(7, 11, opts) / temperature(6, 11, opts)).toBeCloseTo(r, 12);
  });

  it("clamps outside [0, steps) and honours from/to", () => {
    expect(temperature(-5, 10)).toBe(50);
    expect(temperature(50, 10)).toBeCloseTo(0.1, 12);
    expect(temperature(0, 1)).toBeCloseTo(0.1, 12);
    expect(temperature(1, 3, { from: 10, to: 2 })).toBeCloseTo(6, 12);
  });
});
