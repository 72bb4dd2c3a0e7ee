import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { frobenius, matmul, matmulNT, orthonormalityError } from "./matrix.ts";
import { randomRotation } from "./random.ts";
import { retractPolar, retractQR, stiefelProject } from "./stiefel.ts";
import { maxAbsDiff, randn } from "./testing.ts";

const shape = fc
  .integer({ min: 1, max: 8 })
  .chain((d) => fc.record({ d: fc.constant(d), k: fc.integer({ min: 1, max: d }), seed: fc.nat() }));

/** ‖R Δᵀ + Δ Rᵀ‖_F: 0 exactly for Δ ∈ T_R. */
const tangentResidual = (r: Float64Array, delta: Float64Array, k: number, d: number): number => {
  const a = matmulNT(r, delta, k, d, k);
  const b = matmulNT(delta, r, k, d, k);
  return frobenius(a.map((x, i) => x + b[i]!));
};

describe("stiefel", () => {
  it("projection lands in the tangent space, is idempotent, and fixes tangent vectors", () => {
    fc.assert(
      fc.property(shape, ({ d, k, seed }) => {
        const r = randomRotation(d, k, seed);
        const g = randn(seed + 1, k * d);
        const p = stiefelProject(r, g, k, d);
        expect(tangentResidual(r, p, k, d)).toBeLessThan(1e-12);
        expect(maxAbsDiff(stiefelProject(r, p, k, d), p)).toBeLessThan(1e-12);
        // normal vectors S R (S symmetric) project to 0
        const s = randn(seed + 4, k * k);
        const sym = s.map((x, i) => x + s[(i % k) * k + Math.floor(i / k)]!);
        expect(frobenius(stiefelProject(r, matmul(sym, r, k, k, d), k, d))).toBeLessThan(1e-12);
      }),
      { seed: 81, numRuns: 40 },
    );
  });

  it.each([
    ["qr", retractQR],
    ["polar", retractPolar],
  ] as const)(
    "%s retraction returns to the manifold and is first-order the identity on T_R",
    (_, retract) => {
      fc.assert(
        fc.property(shape, ({ d, k, seed }) => {
          const r = randomRotation(d, k, seed);
          const xi = stiefelProject(r, randn(seed + 2, k * d), k, d);
          expect(orthonormalityError(retract(r, randn(seed + 3, k * d, 0.5), k, d), k, d)).toBeLessThan(
            1e-12,
          );
          // ‖retract(R, tξ) − (R + tξ)‖ = O(t²): the ratio of the gaps at t and t/10 is ~100
          const gap = (t: number) =>
            frobenius(
              retract(
                r,
                xi.map((x) => t * x),
                k,
                d,
              ).map((x, i) => x - r[i]! - t * xi[i]!),
            );
          const big = gap(1e-2);
          const small = gap(1e-3);
          if (frobenius(xi) > 1e-6) expect(big / small).toBeGreaterThan(50);
          expect(small).toBeLessThan(1e-4 * Math.max(1, frobenius(xi) ** 2));
        }),
        { seed: 82, numRuns: 30 },
      );
    },
  );

  it("polar is the nearest orthonormal-row matrix (at least as near to X as QR's answer)", () => {
    for (let seed = 0; seed < 10; seed++) {
      const d = 6;
      const k = 3;
      const x = randn(seed, k * d);
      const zero = new Float64Array(k * d);
      const distance = (q: Float64Array) => frobenius(q.map((v, i) => v - x[i]!));
      const polar = retractPolar(x, zero, k, d);
      expect(distance(polar)).toBeLessThanOrEqual(distance(retractQR(x, zero, k, d)) + 1e-12);
      // its defining property: X Pᵀ is symmetric positive definite
      const xp = matmulNT(x, polar, k, d, k);
      for (let i = 0; i < k; i++)
        for (let j = 0; j < k; j++) expect(xp[i * k + j]!).toBeCloseTo(xp[j * k + i]!, 12);
    }
  });

  it("QR retraction throws on rank-deficient R + Δ", () => {
    const r = randomRotation(4, 2, 1);
    const step = r.map((x, i) => (i < 4 ? r[i + 4]! - x : 0)); // row 0 → row 1
    expect(() => retractQR(r, step, 2, 4)).toThrow(/linearly dependent/);
  });
});
