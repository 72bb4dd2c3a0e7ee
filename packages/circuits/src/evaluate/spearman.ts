import { averageRanks } from "./ranks.ts";

/**
 * Spearman's ρ: the Pearson correlation of average ranks (ties get their mean rank), so it is
 * exact with ties, unlike 1 − 6Σd²/(n(n²−1)). NaN when either input is constant or n < 2.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { spearman } from "@patchbay/circuits";
 *
 * assert.equal(spearman([1, 2, 3, 4], [1, 4, 9, 16]), 1); // monotone, not linear
 * assert.ok(Number.isNaN(spearman([1, 1, 1], [1, 2, 3])));
 * ```
 */
export const spearman = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  if (a.length !== b.length) throw new RangeError(`spearman: lengths differ (${a.length} vs ${b.length})`);
  return pearson(averageRanks(a), averageRanks(b));
};

/**
 * Pearson's r = Σ(x−x̄)(y−ȳ) / √(Σ(x−x̄)² Σ(y−ȳ)²).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pearson } from "@patchbay/circuits";
 *
 * assert.ok(Math.abs(pearson([1, 2, 3], [2, 4, 6]) - 1) < 1e-12);
 * ```
 */
export const pearson = (x: ArrayLike<number>, y: ArrayLike<number>): number => {
  const n = x.length;
  if (y.length !== n) throw new RangeError(`pearson: lengths differ (${n} vs ${y.length})`);
  if (n < 2) return Number.NaN;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i]!;
    my += y[i]!;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i]! - mx;
    const dy = y[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxx === 0 || syy === 0 ? Number.NaN : sxy / Math.sqrt(sxx * syy);
};
