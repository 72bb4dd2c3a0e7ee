import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { matmul } from "./matrix.ts";
import { principalAngles, subspaceOverlap } from "./principal-angles.ts";
import { randomRotation } from "./random.ts";
import { randn } from "./testing.ts";

/** Rows e_i [k, D] for the given coordinates. */
const basis = (d: number, coords: readonly number[]): Float64Array => {
  const out = new Float64Array(coords.length * d);
  coords.forEach((c, i) => {
    out[i * d + c] = 1;
  });
  return out;
};

describe("principal angles", () => {
  it("identical subspaces in different bases have all cosines 1", () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 12 }), fc.nat(), (d, seed) => {
        const k = 1 + (seed % (d - 1));
        const r = randomRotation(d, k, seed);
        const mix = randn(seed + 1, k * k); // almost surely invertible: T R spans the same rows
        const { cosines, angles } = principalAngles(r, k, matmul(mix, r, k, k, d), k, d);
        for (const c of cosines) expect(c).toBeGreaterThan(1 - 1e-12);
        for (const a of angles) expect(a).toBeLessThan(1e-5);
      }),
      { seed: 111, numRuns: 40 },
    );
  });

  it("orthogonal subspaces have all cosines 0", () => {
    const q = randomRotation(9, 9, 4);
    const { cosines, angles } = principalAngles(q.subarray(0, 27), 3, q.subarray(27, 63), 4, 9);
    expect(cosines.length).toBe(3);
    for (const c of cosines) expect(c).toBeLessThan(1e-7);
    for (const a of angles) expect(a).toBeCloseTo(Math.PI / 2, 7);
    expect(subspaceOverlap({ cosines, angles })).toBeLessThan(1e-14);
  });

  it("rotating a line by φ in a plane gives cos φ; two planes give {cos φ, cos ψ} in order", () => {
    const d = 5;
    for (const phi of [0.1, 0.7, 1.2, Math.PI / 2 - 0.01]) {
      const line = Float64Array.of(Math.cos(phi), Math.sin(phi), 0, 0, 0);
      expect(principalAngles(basis(d, [0]), 1, line, 1, d).cosines[0]!).toBeCloseTo(Math.cos(phi), 12);
      expect(principalAngles(basis(d, [0]), 1, line, 1, d).angles[0]!).toBeCloseTo(phi, 7);
    }
    const phi = 0.4;
    const psi = 1.1;
    const r2 = Float64Array.of(Math.cos(phi), Math.sin(phi), 0, 0, 0, 0, 0, Math.cos(psi), Math.sin(psi), 0);
    const r1 = basis(d, [0, 2]);
    const { cosines } = principalAngles(r1, 2, r2, 2, d);
    expect(cosines[0]!).toBeCloseTo(Math.cos(phi), 12);
    expect(cosines[1]!).toBeCloseTo(Math.cos(psi), 12);
    // invariant under a common rotation of both subspaces: R ↦ R Q
    const q = randomRotation(d, d, 8);
    const turned = principalAngles(matmul(r1, q, 2, d, d), 2, matmul(r2, q, 2, d, d), 2, d).cosines;
    expect(turned[0]!).toBeCloseTo(Math.cos(phi), 12);
    expect(turned[1]!).toBeCloseTo(Math.cos(psi), 12);
  });

  it("a subspace nested in a larger one has min(k₁, k₂) cosines 1, in either order", () => {
    const q = randomRotation(8, 5, 2);
    const small = q.subarray(8, 24); // rows 1, 2 of the 5
    for (const { cosines } of [principalAngles(small, 2, q, 5, 8), principalAngles(q, 5, small, 2, 8)]) {
      expect(cosines.length).toBe(2);
      for (const c of cosines) expect(c).toBeCloseTo(1, 12);
    }
  });

  it("rejects linearly dependent rows", () => {
    const r = Float64Array.of(1, 0, 0, 2, 0, 0);
    expect(() => principalAngles(r, 2, basis(3, [0]), 1, 3)).toThrow(/linearly dependent/);
  });
});
