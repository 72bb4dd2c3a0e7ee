import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { pairFrequency } from "./attention.ts";
import type { RotaryConfig } from "../model/config.ts";
import { rotaryFrequencies } from "../model/rotary.ts";

/**
 * The Llama 3.1 frequency bands worked out on paper. r = 6, base 1000: f_i = 1000^(−i/3) =
 * 1, 0.1, 0.01; wavelengths λ = 2π/f = 2π, 20π ≈ 62.8, 200π ≈ 628. With original context C = 100,
 * low 1, high 4: λ < C/4 = 25 is kept, λ > C/1 = 100 is divided by the factor 8, between is mixed.
 *   pair 0: λ = 6.28 < 25, kept:      f = 1
 *   pair 1: 25 ≤ λ = 62.8 ≤ 100:      s = (C/λ − 1)/(4 − 1) = (5/π − 1)/3 ≈ 0.19718,
 *                                     f = 0.1·((1 − s)/8 + s) = 0.0125 + 0.0875·s ≈ 0.0297535
 *   pair 2: λ = 628 > 100, divided:   f = 0.01 / 8 = 0.00125
 */
const bands: RotaryConfig = {
  dim: 6,
  base: 1000,
  style: "half",
  scaling: { kind: "llama3", factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalContext: 100 },
};
const s = (5 / Math.PI - 1) / 3;
const onPaper = [1, 0.0125 + 0.0875 * s, 0.00125];

describe("rotary frequencies (model/rotary.ts) and the reference's own (pairFrequency)", () => {
  it("Llama 3.1 bands by hand: one pair kept, one smoothed, one divided by the factor", () => {
    expect(s).toBeCloseTo(0.197183, 6);
    expect(onPaper[1]).toBeCloseTo(0.0297535, 7);
    const f = rotaryFrequencies(bands);
    const ref = [0, 1, 2].map((i) => pairFrequency(bands, i));
    for (let i = 0; i < 3; i++) {
      expect(f[i]).toBeCloseTo(onPaper[i]!, 14);
      expect(ref[i]).toBeCloseTo(onPaper[i]!, 14);
    }
  });

  it("the bands meet continuously: at λ = C/high the smooth form is f, at λ = C/low it is f/factor", () => {
    // f_1 = 0.1 → λ = 20π; put a band edge exactly there
    const at = (originalContext: number, lowFreqFactor: number, highFreqFactor: number) =>
      rotaryFrequencies({
        ...bands,
        scaling: { kind: "llama3", factor: 8, lowFreqFactor, highFreqFactor, originalContext },
      })[1]!;
    expect(at(80 * Math.PI, 1, 4)).toBeCloseTo(0.1, 12); //   C/high = 20π: kept
    expect(at(20 * Math.PI, 1, 4)).toBeCloseTo(0.0125, 12); // C/low = 20π: divided
  });

  it("no scaling is base^(−2i/r); divisors divide pair by pair", () => {
    const plain: RotaryConfig = { dim: 6, base: 1000, style: "interleaved" };
    expect([...rotaryFrequencies(plain)].map((x) => +x.toPrecision(12))).toEqual([1, 0.1, 0.01]);
    const div = rotaryFrequencies({ ...plain, scaling: { kind: "divisors", divisors: [1, 2, 4] } });
    expect([...div].map((x) => +x.toPrecision(12))).toEqual([1, 0.05, 0.0025]);
  });

  it("the builder's and the reference's frequencies agree for any scaling (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 16 }).map((k) => 2 * k),
        fc.constantFrom(10, 500, 10000, 1e6),
        fc.double({ min: 1, max: 64, noNaN: true }),
        fc.double({ min: 0.25, max: 4, noNaN: true }),
        fc.double({ min: 1.1, max: 8, noNaN: true }),
        fc.integer({ min: 1, max: 10000 }),
        (dim, base, factor, low, ratio, originalContext) => {
          const r: RotaryConfig = {
            dim,
            base,
            style: "half",
            scaling: {
              kind: "llama3",
              factor,
              lowFreqFactor: low,
              highFreqFactor: low * ratio,
              originalContext,
            },
          };
          const f = rotaryFrequencies(r);
          for (let i = 0; i < dim / 2; i++) {
            expect(f[i]).toBeCloseTo(pairFrequency(r, i), 15);
            // never faster than unscaled, never slower than divided by the factor
            const plain = base ** ((-2 * i) / dim);
            expect(f[i]!).toBeLessThanOrEqual(plain * (1 + 1e-12));
            expect(f[i]!).toBeGreaterThanOrEqual((plain / factor) * (1 - 1e-12));
          }
        },
      ),
      { numRuns: 200, seed: 16 },
    );
  });
});
