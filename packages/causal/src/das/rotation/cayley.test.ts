import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { cayleyRows, cayleyVjp } from "./cayley.ts";
import { determinant } from "./lu.ts";
import { frobenius, identity, matmul } from "./matrix.ts";
import { skewFromParams, skewParamCount } from "./skew.ts";
import { centralDifference, randn, relativeError } from "./testing.ts";

/** I + s·A [D, D]. */
const shifted = (a: Float64Array, d: number, s: number): Float64Array => {
  const out = identity(d);
  for (let i = 0; i < out.length; i++) out[i]! += s * a[i]!;
  return out;
};

describe("cayley", () => {
  it("satisfies (I − A) Q = I + A and Q (I − A) = I + A (both forms of the map agree)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9 }),
        fc.nat(),
        fc.double({ min: 0.1, max: 5, noNaN: true }),
        (d, seed, s) => {
          const a = skewFromParams(randn(seed, skewParamCount(d), s), d);
          const q = cayleyRows(randn(seed, skewParamCount(d), s), d, d);
          const ipa = shifted(a, d, 1);
          const scale = frobenius(ipa);
          const left = matmul(shifted(a, d, -1), q, d, d, d).map((x, i) => x - ipa[i]!);
          const right = matmul(q, shifted(a, d, -1), d, d, d).map((x, i) => x - ipa[i]!);
          expect(frobenius(left) / scale).toBeLessThan(1e-13);
          expect(frobenius(right) / scale).toBeLessThan(1e-13);
        },
      ),
      { seed: 21, numRuns: 50 },
    );
  });

  it("is a rotation (det +1) and θ = 0 gives I", () => {
    for (const d of [2, 3, 6]) {
      const q = cayleyRows(randn(d, skewParamCount(d), 2), d, d);
      expect(determinant(q, d)).toBeCloseTo(1, 12);
      expect(Array.from(cayleyRows(new Float64Array(skewParamCount(d)), d, d))).toEqual(
        Array.from(identity(d)),
      );
    }
  });

  it("in 2-D is the rotation with tan(φ/2) = t", () => {
    for (const t of [-3, -0.5, 0.25, 1, 10]) {
      const q = cayleyRows(Float64Array.of(t), 2, 2);
      const phi = 2 * Math.atan(t);
      const want = [Math.cos(phi), Math.sin(phi), -Math.sin(phi), Math.cos(phi)];
      want.forEach((w, i) => {
        expect(q[i]!).toBeCloseTo(w, 14);
      });
    }
  });

  it("the first k rows are the first k rows of the full Q", () => {
    const theta = randn(4, skewParamCount(7), 0.8);
    const full = cayleyRows(theta, 7, 7);
    const top = cayleyRows(theta, 7, 3);
    Array.from(top).forEach((x, i) => {
      expect(x).toBeCloseTo(full[i]!, 14);
    });
  });

  it("VJP matches finite differences coordinate by coordinate", () => {
    const d = 5;
    const k = 2;
    const theta = randn(31, skewParamCount(d), 0.9);
    const dR = randn(32, k * d);
    const g = cayleyVjp(theta, d, k, dR);
    for (let p = 0; p < theta.length; p++) {
      const loss = (t: number) => {
        const th = theta.slice();
        th[p]! += t;
        return cayleyRows(th, d, k).reduce((s, x, i) => s + x * dR[i]!, 0);
      };
      expect(relativeError(centralDifference(loss), g[p]!, 1e-3)).toBeLessThan(1e-6);
    }
  });
});
