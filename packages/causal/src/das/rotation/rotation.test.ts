import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { dot, matmulNT, orthonormalityError, transpose } from "./matrix.ts";
import { principalAngles } from "./principal-angles.ts";
import { randomRotation } from "./random.ts";
import { makeRotation, type Rotation, type RotationKind, rotationKinds } from "./rotation.ts";
import { stiefelProject } from "./stiefel.ts";
import { centralDifference, randn, relativeError } from "./testing.ts";

const shape = fc
  .integer({ min: 1, max: 7 })
  .chain((d) => fc.record({ d: fc.constant(d), k: fc.integer({ min: 1, max: d }), seed: fc.nat() }));

/** θ for a test: init at a larger scale than the default, to leave the near-identity regime. */
const thetaFor = (rot: Rotation, seed: number, scale: number): Float64Array =>
  rot.kind === "retraction" || rot.kind === "householder"
    ? rot.init(seed)
    : makeRotation(rot.kind, rot.size, rot.rank, { initScale: scale }).init(seed);

/** A direction ξ to move θ in: any for the unconstrained kinds, tangent for "retraction". */
const directionFor = (rot: Rotation, theta: Float64Array, seed: number): Float64Array => {
  const xi = randn(seed, rot.nParams);
  return rot.kind === "retraction" ? stiefelProject(theta, xi, rot.rank, rot.size) : xi;
};

describe.each(rotationKinds)("%s", (kind: RotationKind) => {
  it("R = matrix(θ) has orthonormal rows (‖RRᵀ − I‖ < 1e-10) for random θ", () => {
    fc.assert(
      fc.property(shape, fc.double({ min: 0.1, max: 3, noNaN: true }), ({ d, k, seed }, scale) => {
        const rot = makeRotation(kind, d, k);
        const r = rot.matrix(thetaFor(rot, seed, scale));
        expect(r.length).toBe(k * d);
        expect(orthonormalityError(r, k, d)).toBeLessThan(1e-10);
      }),
      { seed: 11, numRuns: 60 },
    );
  });

  it("with k = D, Q is orthogonal on both sides (QQᵀ = QᵀQ = I)", () => {
    for (const d of [1, 2, 5, 12]) {
      const rot = makeRotation(kind, d, d);
      const q = rot.matrix(thetaFor(rot, 3 + d, 1.5));
      expect(orthonormalityError(q, d, d)).toBeLessThan(1e-10);
      expect(orthonormalityError(transpose(q, d, d), d, d)).toBeLessThan(1e-10);
    }
  });

  it("the VJP matches a central finite difference along random directions (rel. err < 1e-6)", () => {
    fc.assert(
      fc.property(shape, fc.double({ min: 0.1, max: 2, noNaN: true }), ({ d, k, seed }, scale) => {
        const rot = makeRotation(kind, d, k);
        if (rot.nParams === 0) return;
        const theta = thetaFor(rot, seed, scale);
        const dR = randn(seed + 1, k * d);
        const xi = directionFor(rot, theta, seed + 2);
        // L(t) = ⟨dR, R(θ moved by tξ)⟩, so L'(0) = ⟨dL/dθ, ξ⟩ (Riemannian: ξ tangent)
        const loss = (t: number) =>
          dot(
            dR,
            rot.matrix(
              rot.retract(
                theta,
                xi.map((x) => t * x),
              ),
            ),
          );
        const analytic = dot(rot.vjp(theta, dR), xi);
        // floor 1e-3: a directional derivative that is ~0 (e.g. D = 1) is checked to 1e-9 absolute
        expect(relativeError(centralDifference(loss), analytic, 1e-3)).toBeLessThan(1e-6);
      }),
      { seed: 12, numRuns: 60 },
    );
  });

  it("init is deterministic per seed and differs across seeds", () => {
    const rot = makeRotation(kind, 5, 2);
    expect(Array.from(rot.init(7))).toEqual(Array.from(rot.init(7)));
    expect(Array.from(rot.init(7))).not.toEqual(Array.from(rot.init(8)));
  });

  it("rejects k > D and wrong-length inputs", () => {
    expect(() => makeRotation(kind, 3, 4)).toThrow(RangeError);
    expect(() => makeRotation(kind, 3, 0)).toThrow(RangeError);
    const rot = makeRotation(kind, 4, 2);
    expect(() => rot.matrix(new Float64Array(rot.nParams + 1))).toThrow(RangeError);
    expect(() => rot.vjp(rot.init(1), new Float64Array(3))).toThrow(RangeError);
  });

  it("gradient descent through the parametrization recovers a planted subspace", () => {
    // maximise ‖R Pᵀ‖_F² (= k exactly when rowspace R = rowspace P): L = −‖R Pᵀ‖², dL/dR = −2 R Pᵀ P
    const d = 6;
    const k = 2;
    const p = randomRotation(d, k, 99);
    const ptp = matmulNT(transpose(p, k, d), transpose(p, k, d), d, k, d); // Pᵀ P [D, D]
    const rot = makeRotation(kind, d, k);
    let theta = rot.init(5);
    const before = principalAngles(rot.matrix(theta), k, p, k, d).cosines;
    for (let step = 0; step < 400; step++) {
      const r = rot.matrix(theta);
      const dR = new Float64Array(k * d);
      for (let i = 0; i < k; i++)
        for (let j = 0; j < d; j++) {
          let s = 0;
          for (let c = 0; c < d; c++) s += r[i * d + c]! * ptp[c * d + j]!;
          dR[i * d + j] = -2 * s;
        }
      const g = rot.vjp(theta, dR);
      theta = rot.retract(
        theta,
        g.map((x) => -0.2 * x),
      );
    }
    const after = principalAngles(rot.matrix(theta), k, p, k, d).cosines;
    expect(before[k - 1]!).toBeLessThan(0.99);
    for (const c of after) expect(c).toBeGreaterThan(1 - 1e-8);
  });
});

describe("makeRotation", () => {
  it("counts parameters per kind", () => {
    expect(makeRotation("cayley", 6, 2).nParams).toBe(15);
    expect(makeRotation("expm", 6, 2).nParams).toBe(15);
    expect(makeRotation("householder", 6, 2).nParams).toBe(12);
    expect(makeRotation("householder", 6, 2, { reflections: 5 }).nParams).toBe(30);
    expect(makeRotation("retraction", 6, 2).nParams).toBe(12);
    for (const kind of rotationKinds) {
      const rot = makeRotation(kind, 6, 2);
      expect([rot.kind, rot.size, rot.rank]).toEqual([kind, 6, 2]);
    }
  });

  it("initScale 0 gives R = the first k rows of I for cayley and expm", () => {
    for (const kind of ["cayley", "expm"] as const) {
      const rot = makeRotation(kind, 4, 2, { initScale: 0 });
      expect(Array.from(rot.matrix(rot.init(1)))).toEqual([1, 0, 0, 0, 0, 1, 0, 0]);
    }
  });
});
