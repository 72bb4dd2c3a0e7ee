import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { applyRotary } from "./attention.ts";
import { erf, geluExact, geluTanh, linear, relu, silu, softmaxRows } from "./math.ts";

/** Values from mpmath at 30 digits, rounded to float64. */
const ERF: [number, number][] = [
  [-5, -0.9999999999984626],
  [-2.5, -0.999593047982555],
  [-1, -0.8427007929497149],
  [-0.3, -0.3286267594591274],
  [0.2, 0.22270258921047847],
  [0.7, 0.6778011938374184],
  [1.3, 0.9340079449406524],
  [2.2, 0.9981371537020182],
  [3.1, 0.9999883513426328],
  [4.5, 0.9999999998033839],
];
const GELU: [number, number][] = [
  [-3, -0.0040496940948902835],
  [-1, -0.15865525393145705],
  [-0.5, -0.15426876936299344],
  [0.5, 0.34573123063700656],
  [1, 0.8413447460685429],
  [3, 2.99595030590511],
];
const GELU_TANH: [number, number][] = [
  [-3, -0.003637392081773019],
  [-1, -0.1588080093917233],
  [-0.5, -0.15428599017485609],
  [0.5, 0.34571400982514394],
  [1, 0.8411919906082767],
  [3, 2.996362607918227],
];
const SILU: [number, number][] = [
  [-3, -0.14227761953270035],
  [-1, -0.2689414213699951],
  [-0.5, -0.18877033439907273],
  [0.5, 0.3112296656009273],
  [1, 0.7310585786300049],
  [3, 2.8577223804672998],
];

describe("scalar functions against mpmath", () => {
  it("erf to 1e-15 relative, on both sides of the series / continued-fraction switch at 3", () => {
    for (const [x, e] of ERF) expect(Math.abs(erf(x) - e) / Math.abs(e), `erf(${x})`).toBeLessThan(1e-15);
    // continuity across the switch
    expect(Math.abs(erf(3 - 1e-12) - erf(3 + 1e-12))).toBeLessThan(1e-15);
    expect(erf(0)).toBe(0);
    expect(erf(40)).toBe(1);
    expect(Number.isNaN(erf(Number.NaN))).toBe(true);
  });

  it("erf is odd and increasing", () => {
    fc.assert(
      fc.property(
        fc.double({ min: -8, max: 8, noNaN: true }),
        fc.double({ min: 1e-6, max: 1, noNaN: true }),
        (x, h) => {
          expect(erf(-x)).toBe(-erf(x));
          expect(erf(x + h)).toBeGreaterThanOrEqual(erf(x));
        },
      ),
    );
  });

  it("activations", () => {
    for (const [x, e] of GELU) expect(geluExact(x)).toBeCloseTo(e, 15);
    for (const [x, e] of GELU_TANH) expect(geluTanh(x)).toBeCloseTo(e, 15);
    for (const [x, e] of SILU) expect(silu(x)).toBeCloseTo(e, 15);
    expect([-2, -0, 0, 3].map(relu)).toEqual([0, 0, 0, 3]);
  });
});

describe("linear and softmax", () => {
  it("y = x·W + b with [in, out] weights, read at offsets", () => {
    // x = [[1, 2]], W = [[1, 2, 3], [4, 5, 6]] → [9, 12, 15]; + b [1, 1, 1]
    const W = new Float32Array([0, 0, 1, 2, 3, 4, 5, 6]);
    const b = new Float32Array([7, 1, 1, 1]);
    expect([...linear(new Float64Array([1, 2]), 1, 2, W, 3, b, 2, 1)]).toEqual([10, 13, 16]);
  });

  it("softmax rows sum to one and −∞ gets exactly zero", () => {
    const s = new Float64Array([0, Math.log(3), Number.NEGATIVE_INFINITY, 1000, 1000, 1000]);
    softmaxRows(s, 2, 3);
    expect(s[0]).toBeCloseTo(0.25, 15);
    expect(s[1]).toBeCloseTo(0.75, 15);
    expect(s[2]).toBe(0);
    expect(s[3]).toBeCloseTo(1 / 3, 15);
  });
});

describe("rotary by hand", () => {
  // r = 4, base 100: pair 0 turns by θ = p, pair 1 by θ = p · 100^(−2/4) = p/10.
  const x = new Float64Array([1, 2, 3, 4, 5]); // e = 5: dimension 4 never rotates
  const at = (p: number, style: "half" | "interleaved") => {
    const xs = new Float64Array(5 * (p + 1));
    xs.set(x, 5 * p);
    return [...applyRotary({ dim: 4, base: 100, style }, xs, 1, p + 1, 1, 5).subarray(5 * p)];
  };
  const rot = (a: number, b: number, t: number) => [
    a * Math.cos(t) - b * Math.sin(t),
    a * Math.sin(t) + b * Math.cos(t),
  ];

  it("half: pairs (0, 2) and (1, 3)", () => {
    const p = 3;
    const [a0, a2] = rot(1, 3, p);
    const [a1, a3] = rot(2, 4, p / 10);
    const got = at(p, "half");
    [a0, a1, a2, a3, 5].forEach((v, i) => {
      expect(got[i]).toBeCloseTo(v!, 14);
    });
  });

  it("interleaved: pairs (0, 1) and (2, 3)", () => {
    const p = 3;
    const [a0, a1] = rot(1, 2, p);
    const [a2, a3] = rot(3, 4, p / 10);
    const got = at(p, "interleaved");
    [a0, a1, a2, a3, 5].forEach((v, i) => {
      expect(got[i]).toBeCloseTo(v!, 14);
    });
  });

  it("position 0 is the identity, and the norm is preserved", () => {
    expect(at(0, "half")).toEqual([...x]);
    const r = at(7, "interleaved");
    expect(Math.hypot(...r)).toBeCloseTo(Math.hypot(...x), 13);
  });

  it("q·k depends only on the relative position", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -2, max: 2, noNaN: true }), { minLength: 12, maxLength: 12 }),
        fc.integer({ min: 0, max: 6 }),
        fc.integer({ min: 0, max: 6 }),
        fc.integer({ min: 1, max: 5 }),
        fc.constantFrom("half" as const, "interleaved" as const),
        (v, m, n, shift, style) => {
          const rotary = { dim: 4, base: 50, style };
          const P = 12;
          // q = v[0:6] and k = v[6:12] at every position: [1, P, 1, 6]
          const q = new Float64Array(P * 6);
          const k = new Float64Array(P * 6);
          for (let p = 0; p < P; p++) {
            q.set(v.slice(0, 6), p * 6);
            k.set(v.slice(6), p * 6);
          }
          const rq = applyRotary(rotary, q, 1, P, 1, 6);
          const rk = applyRotary(rotary, k, 1, P, 1, 6);
          const dot = (i: number, j: number) => {
            let s = 0;
            for (let t = 0; t < 6; t++) s += rq[i * 6 + t]! * rk[j * 6 + t]!;
            return s;
          };
          expect(Math.abs(dot(m, n) - dot(m + shift, n + shift))).toBeLessThan(1e-12);
        },
      ),
      { numRuns: 50 },
    );
  });
});
