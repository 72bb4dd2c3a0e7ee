import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { orthonormalizeRows } from "./gram-schmidt.ts";
import { symmetricEigen } from "./jacobi.ts";
import { determinant, luFactor, luSolve, luSolveTransposed, SingularMatrix } from "./lu.ts";
import { matmul, matmulNT, orthonormalityError, transpose } from "./matrix.ts";
import { maxAbsDiff, randn } from "./testing.ts";

describe("LU", () => {
  it("solves A X = B and Aᵀ X = B", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10 }), fc.integer({ min: 1, max: 4 }), fc.nat(), (n, m, seed) => {
        const a = randn(seed, n * n);
        const b = randn(seed + 1, n * m);
        const f = luFactor(a, n);
        expect(maxAbsDiff(matmul(a, luSolve(f, b, m), n, n, m), b)).toBeLessThan(1e-9);
        expect(maxAbsDiff(matmul(transpose(a, n, n), luSolveTransposed(f, b, m), n, n, m), b)).toBeLessThan(
          1e-9,
        );
      }),
      { seed: 121, numRuns: 60 },
    );
  });

  it("gives determinants, including the sign of row swaps", () => {
    expect(determinant(Float64Array.of(0, 1, 1, 0), 2)).toBe(-1);
    expect(determinant(Float64Array.of(2, 1, 1, 3), 2)).toBeCloseTo(5, 14);
    expect(determinant(Float64Array.of(1, 2, 2, 4), 2)).toBe(0);
    expect(() => luFactor(Float64Array.of(1, 2, 2, 4), 2)).toThrow(SingularMatrix);
  });
});

describe("modified Gram–Schmidt", () => {
  it("orthonormalises rows with X = T Q, T lower triangular with positive diagonal", () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 12 })
          .chain((d) => fc.tuple(fc.constant(d), fc.integer({ min: 1, max: d }))),
        fc.nat(),
        ([d, k], seed) => {
          const x = randn(seed, k * d);
          const q = orthonormalizeRows(x, k, d);
          expect(orthonormalityError(q, k, d)).toBeLessThan(1e-13);
          const t = matmulNT(x, q, k, d, k); // T = X Qᵀ
          for (let i = 0; i < k; i++) {
            expect(t[i * k + i]!).toBeGreaterThan(0);
            for (let j = i + 1; j < k; j++) expect(Math.abs(t[i * k + j]!)).toBeLessThan(1e-12);
          }
          expect(maxAbsDiff(matmul(t, q, k, k, d), x)).toBeLessThan(1e-12);
        },
      ),
      { seed: 122, numRuns: 60 },
    );
  });

  it("stays orthonormal for ill-conditioned rows (twice is enough)", () => {
    const d = 6;
    const base = randn(3, d);
    const x = new Float64Array(3 * d);
    for (let i = 0; i < 3; i++)
      for (let c = 0; c < d; c++) x[i * d + c] = base[c]! + 1e-7 * randn(10 + i, d)[c]!;
    expect(orthonormalityError(orthonormalizeRows(x, 3, d), 3, d)).toBeLessThan(1e-13);
  });
});

describe("Jacobi eigensolver", () => {
  it("decomposes S = V Λ Vᵀ with orthonormal V, eigenvalues descending", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 16 }), fc.nat(), (n, seed) => {
        const b = randn(seed, n * n);
        const s = matmulNT(b, b, n, n, n).map((x, i) => x - (i % (n + 1) === 0 ? 1 : 0)); // indefinite
        const { values, vectors } = symmetricEigen(s, n);
        expect(orthonormalityError(vectors, n, n)).toBeLessThan(1e-12);
        const vl = vectors.map((x, i) => x * values[i % n]!); // V Λ
        expect(maxAbsDiff(matmulNT(vl, vectors, n, n, n), s)).toBeLessThan(1e-10);
        for (let i = 1; i < n; i++) expect(values[i]!).toBeLessThanOrEqual(values[i - 1]!);
      }),
      { seed: 123, numRuns: 60 },
    );
  });

  it("finds known eigenvalues", () => {
    const { values } = symmetricEigen(Float64Array.of(2, 1, 0, 1, 2, 0, 0, 0, -1), 3);
    expect(Array.from(values).map((v) => Math.round(v * 1e12) / 1e12)).toEqual([3, 1, -1]);
  });
});
