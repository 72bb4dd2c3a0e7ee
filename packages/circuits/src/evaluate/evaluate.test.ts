import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { faithfulness, faithfulnessPerExample } from "./faithfulness.ts";
import { MIB_FRACTIONS, MIB_PERCENTAGES, mibAreas, trapezoid } from "./mib-area.ts";
import { averageRanks } from "./ranks.ts";
import { rocAuc } from "./roc.ts";
import { pearson, spearman } from "./spearman.ts";
import { summary } from "./summary.ts";

const tiedDoubles = (min: number, max: number) =>
  fc.array(fc.oneof(fc.integer({ min: -3, max: 3 }), fc.double({ min: -10, max: 10, noNaN: true })), {
    minLength: min,
    maxLength: max,
  });

describe("faithfulness", () => {
  it("(m(C) − m(∅)) / (m(M) − m(∅))", () => {
    expect(faithfulness(3, 1, 5)).toBe(0.5);
    expect(faithfulness(5, 1, 5)).toBe(1);
    expect(faithfulness(1, 1, 5)).toBe(0);
    expect(faithfulness(7, 1, 4)).toBe(2);
    expect(faithfulness(0, 1, 4)).toBeCloseTo(-1 / 3, 15);
    expect(faithfulness(2, 3, 3)).toBeNaN();
    expect([...faithfulnessPerExample([3, 2], [1, 0], [5, 4])]).toEqual([0.5, 0.5]);
    expect(() => faithfulnessPerExample([1], [1, 2], [3])).toThrow(RangeError);
  });
});

describe("MIB areas", () => {
  it("grid is k/100 for k in MIB's percentages", () => {
    expect(MIB_FRACTIONS.length).toBe(10);
    for (const [i, k] of MIB_PERCENTAGES.entries()) expect(MIB_FRACTIONS[i]).toBeCloseTo(k / 100, 15);
  });

  it("f ≡ 1: CPR = 0.999 (the grid's width), CMD = 0; f ≡ 0: the reverse", () => {
    const ones = MIB_FRACTIONS.map(() => 1);
    const zeros = MIB_FRACTIONS.map(() => 0);
    expect(mibAreas(ones).cpr).toBeCloseTo(0.999, 12);
    expect(mibAreas(ones).cmd).toBe(0);
    expect(mibAreas(zeros).cpr).toBe(0);
    expect(mibAreas(zeros).cmd).toBeCloseTo(0.999, 12);
    expect(mibAreas(ones).meanFaithfulness).toBe(1);
  });

  it("trapezoids are exact on a linear f = x, and |1 − f| folds overshoot", () => {
    const lin = MIB_FRACTIONS.map((x) => x);
    expect(mibAreas(lin).cpr).toBeCloseTo((1 - 0.001 ** 2) / 2, 12);
    expect(mibAreas(lin).cmd).toBeCloseTo(0.999 - (1 - 0.001 ** 2) / 2, 12);
    // f = 2 everywhere: CPR = 2·0.999, CMD = |1 − 2|·0.999
    const twos = MIB_FRACTIONS.map(() => 2);
    expect(mibAreas(twos).cpr).toBeCloseTo(1.998, 12);
    expect(mibAreas(twos).cmd).toBeCloseTo(0.999, 12);
    // a hand-computed two-segment curve
    expect(trapezoid([0, 0.5, 1], [0, 1, 0])).toBe(0.5);
    expect(() => trapezoid([0, 0], [1, 1])).toThrow(RangeError);
    expect(() => mibAreas([1, 2])).toThrow(RangeError);
  });

  it("property: CMD ≥ |0.999 − CPR| (triangle inequality on |1 − f|)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -3, max: 3, noNaN: true }), { minLength: 10, maxLength: 10 }),
        (f) => {
          const { cpr, cmd } = mibAreas(f);
          expect(cmd + 1e-12).toBeGreaterThanOrEqual(Math.abs(0.999 - cpr));
        },
      ),
    );
  });
});

/** Brute force: P(score₊ > score₋) + ½ P(score₊ = score₋) over all pairs. */
const pairwiseAuc = (s: number[], truth: boolean[]): number => {
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < s.length; i++)
    for (let j = 0; j < s.length; j++)
      if (truth[i] && !truth[j]) {
        pairs++;
        wins += s[i]! > s[j]! ? 1 : s[i] === s[j] ? 0.5 : 0;
      }
  return wins / pairs;
};

describe("rocAuc", () => {
  it("known values", () => {
    expect(rocAuc([3, 2, 1, 0], new Set([0, 1]))).toBe(1);
    expect(rocAuc([3, 2, 1, 0], new Set([2, 3]))).toBe(0);
    expect(rocAuc([1, 1, 1, 1], new Set([0]))).toBe(0.5);
    expect(rocAuc([0.9, 0.1, 0.5, 0.5], Uint8Array.from([1, 0, 1, 0]))).toBe(0.875);
    expect(rocAuc([1, 2], new Set())).toBeNaN();
    expect(rocAuc([1, 2], Uint8Array.from([1, 1]))).toBeNaN();
    expect(() => rocAuc([1, 2], new Set([2]))).toThrow(RangeError);
  });

  it("property: equals the brute-force pairwise count, ties ½; Set and mask agree", () => {
    fc.assert(
      fc.property(
        tiedDoubles(2, 40).chain((s) =>
          fc.tuple(fc.constant(s), fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length })),
        ),
        ([s, truth]) => {
          fc.pre(truth.some((t) => t) && truth.some((t) => !t));
          const set = new Set(truth.flatMap((t, i) => (t ? [i] : [])));
          const auc = rocAuc(s, set);
          expect(auc).toBeCloseTo(pairwiseAuc(s, truth), 12);
          expect(rocAuc(Float64Array.from(s), Uint8Array.from(truth, Number))).toBe(auc);
        },
      ),
      { numRuns: 300 },
    );
  });
});

/** Naive average rank: #{v_j < v_i} + (#{v_j = v_i} + 1)/2. */
const naiveRanks = (v: number[]): number[] =>
  v.map((x) => v.filter((y) => y < x).length + (v.filter((y) => y === x).length + 1) / 2);

const naivePearson = (x: number[], y: number[]): number => {
  const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
  const mx = mean(x);
  const my = mean(y);
  const cov = x.reduce((s, xi, i) => s + (xi - mx) * (y[i]! - my), 0);
  const vx = x.reduce((s, xi) => s + (xi - mx) ** 2, 0);
  const vy = y.reduce((s, yi) => s + (yi - my) ** 2, 0);
  return cov / Math.sqrt(vx * vy);
};

describe("spearman", () => {
  it("known values (scipy.stats.spearmanr)", () => {
    expect(spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7])).toBeCloseTo(0.8207826816681233, 14);
    expect(spearman([1, 2, 3], [10, 20, 30])).toBeCloseTo(1, 15);
    expect(spearman([1, 2, 3], [3, 1, 2])).toBeCloseTo(-0.5, 15);
    expect(spearman([1, 2, 3, 4], [1, 4, 9, 16])).toBeCloseTo(1, 15); // monotone, not linear
    expect(pearson([1, 2, 3, 4], [1, 4, 9, 16])).toBeLessThan(0.99);
    expect(spearman([1, 1, 1], [1, 2, 3])).toBeNaN();
    expect([...averageRanks([10, 20, 10, 30])]).toEqual([1.5, 3, 1.5, 4]);
  });

  it("property: equals Pearson of naive average ranks; without ties, 1 − 6Σd²/(n(n²−1))", () => {
    fc.assert(
      fc.property(
        tiedDoubles(3, 30).chain((a) =>
          fc.tuple(
            fc.constant(a),
            fc.array(fc.integer({ min: -4, max: 4 }), { minLength: a.length, maxLength: a.length }),
          ),
        ),
        ([a, b]) => {
          const ra = naiveRanks(a);
          const rb = naiveRanks(b);
          expect([...averageRanks(a)]).toEqual(ra);
          const rho = spearman(a, b);
          const ref = naivePearson(ra, rb);
          if (Number.isNaN(ref)) expect(rho).toBeNaN();
          else expect(rho).toBeCloseTo(ref, 10);
        },
      ),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer(), { minLength: 2, maxLength: 30 }), fc.nat(), (a, seed) => {
        const b = a.map((_, i) => (i * 7919 + seed) % 1_000_003); // distinct ranks for distinct i
        fc.pre(new Set(b).size === b.length);
        const ra = naiveRanks(a);
        const rb = naiveRanks(b);
        const n = a.length;
        const d2 = ra.reduce((s, r, i) => s + (r - rb[i]!) ** 2, 0);
        expect(spearman(a, b)).toBeCloseTo(1 - (6 * d2) / (n * (n * n - 1)), 10);
      }),
    );
  });
});

describe("summary", () => {
  it("numpy-style quantiles, sample std, NaN counted and skipped", () => {
    const s = summary([4, 1, 3, 2, Number.NaN]);
    expect(s).toMatchObject({
      n: 4,
      nanCount: 1,
      mean: 2.5,
      min: 1,
      q25: 1.75,
      median: 2.5,
      q75: 3.25,
      max: 4,
    });
    expect(s.std).toBeCloseTo(Math.sqrt(5 / 3), 14);
    expect(summary([7])).toMatchObject({ n: 1, mean: 7, std: 0, q25: 7, median: 7, max: 7 });
    expect(summary([1, 2, 3, 4, 5]).median).toBe(3);
    expect(() => summary([Number.NaN])).toThrow(RangeError);
  });

  it("property: min ≤ q25 ≤ median ≤ q75 ≤ max and min ≤ mean ≤ max", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 50 }),
        (v) => {
          const s = summary(v);
          expect(s.min <= s.q25 && s.q25 <= s.median && s.median <= s.q75 && s.q75 <= s.max).toBe(true);
          expect(s.mean).toBeGreaterThanOrEqual(s.min - 1e-6);
          expect(s.mean).toBeLessThanOrEqual(s.max + 1e-6);
          expect(s.min).toBe(Math.min(...v));
          expect(s.max).toBe(Math.max(...v));
        },
      ),
    );
  });
});
