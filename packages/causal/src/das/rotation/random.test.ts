import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { determinant } from "./lu.ts";
import { orthonormalityError } from "./matrix.ts";
import { randomRotation } from "./random.ts";

describe("randomRotation", () => {
  it("has orthonormal rows and is deterministic per seed", () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 40 })
          .chain((d) => fc.tuple(fc.constant(d), fc.integer({ min: 1, max: d }))),
        fc.nat(),
        ([d, k], seed) => {
          const r = randomRotation(d, k, seed);
          expect(r.length).toBe(k * d);
          expect(orthonormalityError(r, k, d)).toBeLessThan(1e-12);
          expect(Array.from(randomRotation(d, k, seed))).toEqual(Array.from(r));
        },
      ),
      { seed: 91, numRuns: 50 },
    );
  });

  it("differs across seeds; k = D is orthogonal with det ±1", () => {
    expect(Array.from(randomRotation(6, 2, 1))).not.toEqual(Array.from(randomRotation(6, 2, 2)));
    const q = randomRotation(7, 7, 3);
    expect(Math.abs(Math.abs(determinant(q, 7)) - 1)).toBeLessThan(1e-12);
  });

  it("looks Haar: entries have mean 0 and E[r_ij²] = 1/D, and det is ±1 about equally often", () => {
    const d = 4;
    const k = 4;
    const samples = 4000;
    const sum = new Float64Array(k * d);
    const sumSq = new Float64Array(k * d);
    let positive = 0;
    for (let s = 0; s < samples; s++) {
      const r = randomRotation(d, k, 1000 + s);
      for (let i = 0; i < r.length; i++) {
        sum[i]! += r[i]!;
        sumSq[i]! += r[i]! * r[i]!;
      }
      if (determinant(r, d) > 0) positive++;
    }
    // sd of a mean of r_ij (var 1/D) is 0.5/√4000 ≈ 0.008; of a mean of r_ij², ≈ 0.004
    for (let i = 0; i < k * d; i++) {
      expect(Math.abs(sum[i]! / samples)).toBeLessThan(0.04);
      expect(Math.abs(sumSq[i]! / samples - 1 / d)).toBeLessThan(0.02);
    }
    expect(Math.abs(positive / samples - 0.5)).toBeLessThan(0.04);
  });
});
