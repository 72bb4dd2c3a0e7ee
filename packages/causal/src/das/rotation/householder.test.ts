import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { householderRows, householderVjp } from "./householder.ts";
import { determinant } from "./lu.ts";
import { dot, orthonormalityError } from "./matrix.ts";
import { principalAngles } from "./principal-angles.ts";
import { randomRotation } from "./random.ts";
import { centralDifference, randn, relativeError } from "./testing.ts";

/**
 * Householder QR of the columns Rᵀ of a target R [k, D], returning θ = [v'_k; …; v'_1] so that
 * the parametrization's R is the target up to row signs (the construction in householder.ts).
 */
const reflectorsFor = (target: Float64Array, k: number, d: number): Float64Array => {
  const cols = target.slice(); // row j of `cols` is column j of U = Rᵀ
  const vs: Float64Array[] = [];
  for (let j = 0; j < k; j++) {
    const x = cols.subarray(j * d, j * d + d);
    let nrm = 0;
    for (let c = j; c < d; c++) nrm += x[c]! * x[c]!;
    nrm = Math.sqrt(nrm);
    const v = new Float64Array(d);
    for (let c = j; c < d; c++) v[c] = x[c]!;
    v[j]! += (x[j]! >= 0 ? 1 : -1) * nrm; // v = x + sign(x_j)‖x‖ e_j: H v maps x to ∓‖x‖ e_j
    vs.push(v);
    const s = dot(v, v);
    for (let col = 0; col < k; col++) {
      const y = cols.subarray(col * d, col * d + d);
      const f = (2 * dot(y, v)) / s;
      for (let c = 0; c < d; c++) y[c]! -= f * v[c]!;
    }
  }
  const theta = new Float64Array(k * d);
  vs.reverse().forEach((v, i) => {
    theta.set(v, i * d);
  });
  return theta;
};

describe("householder", () => {
  it("n reflections give an orthogonal Q with det (−1)^n", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 7 }), fc.integer({ min: 0, max: 12 }), fc.nat(), (d, n, seed) => {
        const q = householderRows(randn(seed, n * d), d, d, n);
        expect(orthonormalityError(q, d, d)).toBeLessThan(1e-12);
        expect(determinant(q, d)).toBeCloseTo((-1) ** n, 10);
      }),
      { seed: 61, numRuns: 60 },
    );
  });

  it("one reflection sends v to −v and fixes v^⊥", () => {
    const d = 4;
    const v = Float64Array.of(1, 2, -1, 0.5);
    const h = householderRows(v, d, d, 1); // H = I − 2vvᵀ/‖v‖², symmetric
    const hv = [0, 1, 2, 3].map((i) => dot(h.subarray(i * d, i * d + d), v));
    hv.forEach((x, i) => {
      expect(x).toBeCloseTo(-v[i]!, 14);
    });
    const w = Float64Array.of(2, -1, 0, 0); // ⊥ v
    const hw = [0, 1, 2, 3].map((i) => dot(h.subarray(i * d, i * d + d), w));
    hw.forEach((x, i) => {
      expect(x).toBeCloseTo(w[i]!, 14);
    });
  });

  it("n = k reflections reach any target R (up to row signs)", () => {
    for (const [d, k, seed] of [
      [5, 2, 1],
      [6, 3, 2],
      [4, 4, 3],
    ] as const) {
      const target = randomRotation(d, k, seed);
      const r = householderRows(reflectorsFor(target, k, d), d, k, k);
      for (let i = 0; i < k; i++) {
        const c = dot(r.subarray(i * d, i * d + d), target.subarray(i * d, i * d + d));
        expect(Math.abs(c)).toBeCloseTo(1, 12);
      }
      for (const c of principalAngles(r, k, target, k, d).cosines) expect(c).toBeCloseTo(1, 12);
    }
  });

  it("n < k reflections keep k − n directions of span(e_1..e_k) in the row space", () => {
    fc.assert(
      fc.property(fc.nat(), (seed) => {
        const d = 6;
        const k = 3;
        const n = 1;
        const r = householderRows(randn(seed, n * d), d, k, n);
        const ek = new Float64Array(k * d);
        for (let i = 0; i < k; i++) ek[i * d + i] = 1;
        const { cosines } = principalAngles(r, k, ek, k, d);
        // k − n = 2 principal cosines are 1: the row space can never leave span(E_k) entirely
        expect(cosines[0]!).toBeCloseTo(1, 7);
        expect(cosines[1]!).toBeCloseTo(1, 7);
      }),
      { seed: 62, numRuns: 20 },
    );
  });

  it("VJP matches finite differences coordinate by coordinate, and each dv ⊥ v", () => {
    const d = 5;
    const k = 2;
    const n = 3;
    const theta = randn(71, n * d);
    const dR = randn(72, k * d);
    const g = householderVjp(theta, d, k, n, dR);
    for (let p = 0; p < theta.length; p++) {
      const loss = (t: number) => {
        const th = theta.slice();
        th[p]! += t;
        return dot(householderRows(th, d, k, n), dR);
      };
      expect(relativeError(centralDifference(loss), g[p]!, 1e-3)).toBeLessThan(1e-6);
    }
    for (let i = 0; i < n; i++) {
      const v = theta.subarray(i * d, i * d + d);
      expect(Math.abs(dot(g.subarray(i * d, i * d + d), v))).toBeLessThan(1e-12);
    }
  });

  it("a zero vector is the identity reflection with zero gradient", () => {
    const d = 3;
    const theta = Float64Array.of(0, 0, 0, 1, 2, 3);
    const r = householderRows(theta, d, d, 2);
    const only = householderRows(theta.subarray(3), d, d, 1);
    expect(Array.from(r)).toEqual(Array.from(only));
    const g = householderVjp(theta, d, d, 2, randn(1, d * d));
    expect(Array.from(g.subarray(0, 3))).toEqual([0, 0, 0]);
    expect(g.subarray(3).some((x) => x !== 0)).toBe(true);
  });
});
