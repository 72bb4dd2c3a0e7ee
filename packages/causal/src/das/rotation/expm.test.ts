import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { expm, expmFrechet, expmRows, expmRowsVjp, expmVjp } from "./expm.ts";
import { determinant } from "./lu.ts";
import { dot, identity, matmul, orthonormalityError } from "./matrix.ts";
import { skewFromParams, skewParamCount } from "./skew.ts";
import { centralDifference, maxAbsDiff, randn, relativeError, relativeErrorArray } from "./testing.ts";

/** Σ_{j<terms} A^j / j!: the naive reference, accurate in float64 when ‖A‖ ≲ 1. */
const taylor = (a: Float64Array, n: number, terms = 40): Float64Array => {
  const out = identity(n);
  let term = identity(n);
  for (let j = 1; j < terms; j++) {
    term = matmul(term, a, n, n, n).map((x) => x / j);
    for (let i = 0; i < out.length; i++) out[i]! += term[i]!;
  }
  return out;
};

/** A [n, n] with ‖A‖_F = norm, for seed. */
const randomMatrix = (seed: number, n: number, norm: number): Float64Array => {
  const a = randn(seed, n * n);
  const f = Math.sqrt(dot(a, a));
  return a.map((x) => (x * norm) / f);
};

/** The literal block exponential's upper-right block: exp([[X, E], [0, X]])[0:n, n:2n]. */
const blockFrechet = (x: Float64Array, e: Float64Array, n: number): Float64Array => {
  const big = new Float64Array(4 * n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      big[i * 2 * n + j] = x[i * n + j]!;
      big[(n + i) * 2 * n + n + j] = x[i * n + j]!;
      big[i * 2 * n + n + j] = e[i * n + j]!;
    }
  const ex = expm(big, 2 * n);
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[i * n + j] = ex[i * 2 * n + n + j]!;
  return out;
};

describe("expm", () => {
  it("agrees with a long Taylor series on small-norm A (general and skew)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.nat(),
        fc.double({ min: 0.01, max: 1, noNaN: true }),
        (n, seed, nrm) => {
          const a = randomMatrix(seed, n, nrm);
          expect(maxAbsDiff(expm(a, n), taylor(a, n))).toBeLessThan(1e-14);
          const s = skewFromParams(randn(seed, skewParamCount(n), nrm / n), n);
          expect(maxAbsDiff(expm(s, n), taylor(s, n))).toBeLessThan(1e-14);
        },
      ),
      { seed: 41, numRuns: 60 },
    );
  });

  it("is exact on 2-D rotations through scaling and squaring (‖A‖ up to 100)", () => {
    for (const t of [0.3, 4, 10, 37.5, 100]) {
      const q = expm(Float64Array.of(0, t, -t, 0), 2);
      const want = [Math.cos(t), Math.sin(t), -Math.sin(t), Math.cos(t)];
      want.forEach((w, i) => {
        expect(Math.abs(q[i]! - w)).toBeLessThan(1e-12 * Math.max(1, t));
      });
    }
  });

  it("exp(A) exp(−A) = I and det exp(A) = e^(tr A) for larger general A", () => {
    for (const [seed, nrm] of [
      [1, 3],
      [2, 8],
    ] as const) {
      const n = 5;
      const a = randomMatrix(seed, n, nrm);
      const ea = expm(a, n);
      const ema = expm(
        a.map((x) => -x),
        n,
      );
      // rounding in the product is relative to ‖e^A‖‖e^−A‖, which grows like e^(2‖A‖) here
      const cond = Math.sqrt(dot(ea, ea) * dot(ema, ema));
      expect(maxAbsDiff(matmul(ea, ema, n, n, n), identity(n)) / cond).toBeLessThan(1e-14);
      let tr = 0;
      for (let i = 0; i < n; i++) tr += a[i * n + i]!;
      expect(relativeError(determinant(ea, n), Math.exp(tr))).toBeLessThan(1e-10);
    }
  });

  it("agrees with Taylor-on-A/2¹⁰-then-square-10-times for large general A", () => {
    for (const [seed, nrm] of [
      [4, 3],
      [5, 20],
      [6, 50],
    ] as const) {
      const n = 6;
      const a = randomMatrix(seed, n, nrm);
      let naive = taylor(
        a.map((x) => x / 1024),
        n,
        25,
      );
      for (let i = 0; i < 10; i++) naive = matmul(naive, naive, n, n, n);
      expect(relativeErrorArray(expm(a, n), naive)).toBeLessThan(1e-11);
    }
  });

  it("exp of a skew matrix is orthogonal with det +1, even for large A", () => {
    for (const s of [0.5, 3, 10]) {
      const d = 8;
      const q = expmRows(randn(7, skewParamCount(d), s), d, d);
      expect(orthonormalityError(q, d, d)).toBeLessThan(1e-10);
      expect(determinant(q, d)).toBeCloseTo(1, 10);
    }
  });

  it("the paired Fréchet derivative equals the literal block exponential's upper-right block", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.nat(),
        fc.double({ min: 0.05, max: 20, noNaN: true }),
        (n, seed, nrm) => {
          const x = randomMatrix(seed, n, nrm);
          const e = randomMatrix(seed + 1, n, 1);
          expect(relativeErrorArray(expmFrechet(x, n, e).frechet!, blockFrechet(x, e, n))).toBeLessThan(
            1e-11,
          );
        },
      ),
      { seed: 42, numRuns: 40 },
    );
  });

  it("Fréchet derivative matches d/dt exp(A + tE) by finite differences", () => {
    const n = 4;
    const a = randomMatrix(5, n, 6);
    const e = randomMatrix(6, n, 1);
    const g = randomMatrix(7, n, 1);
    const fd = centralDifference((t) =>
      dot(
        g,
        expm(
          a.map((x, i) => x + t * e[i]!),
          n,
        ),
      ),
    );
    expect(relativeError(fd, dot(g, expmFrechet(a, n, e).frechet!))).toBeLessThan(1e-7);
  });

  it("VJP convention: dL/dA = L_exp(Aᵀ, G) (and L_exp(A, G) is wrong for non-normal A)", () => {
    const n = 4;
    const a = randomMatrix(8, n, 3); // general: A ≠ ±Aᵀ, so the transpose matters
    const g = randomMatrix(9, n, 1);
    const e = randomMatrix(10, n, 1);
    const fd = centralDifference((t) =>
      dot(
        g,
        expm(
          a.map((x, i) => x + t * e[i]!),
          n,
        ),
      ),
    );
    expect(relativeError(fd, dot(expmVjp(a, n, g), e))).toBeLessThan(1e-7);
    expect(relativeError(fd, dot(expmFrechet(a, n, g).frechet!, e))).toBeGreaterThan(1e-2);
  });

  it("VJP w.r.t. θ matches finite differences coordinate by coordinate (large θ: squarings active)", () => {
    const d = 5;
    const k = 3;
    const theta = randn(51, skewParamCount(d), 2.5);
    const dR = randn(52, k * d);
    const g = expmRowsVjp(theta, d, k, dR);
    for (let p = 0; p < theta.length; p++) {
      const loss = (t: number) => {
        const th = theta.slice();
        th[p]! += t;
        return dot(expmRows(th, d, k), dR);
      };
      expect(relativeError(centralDifference(loss), g[p]!, 1e-3)).toBeLessThan(1e-6);
    }
  });
});
