/**
 * Per-example spread (docs/methods.md#faithfulness: report the spread, not only the mean). NaN values (e.g. a
 * faithfulness whose denominator vanished) are left out and counted in `nanCount`.
 * std is the sample standard deviation √(Σ(x−x̄)²/(n−1)) (0 when n = 1); quantiles interpolate
 * linearly between order statistics (position q·(n−1), numpy's default).
 */
export interface Summary {
  readonly n: number;
  readonly nanCount: number;
  readonly mean: number;
  readonly std: number;
  readonly min: number;
  readonly q25: number;
  readonly median: number;
  readonly q75: number;
  readonly max: number;
}

/**
 * Linear-interpolation quantile of sorted values, q ∈ [0, 1].
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { quantileSorted } from "@patchbay/circuits";
 *
 * assert.equal(quantileSorted([1, 2, 3, 4], 0.5), 2.5);
 * assert.equal(quantileSorted([1, 2, 3, 4], 1), 4);
 * ```
 */
export const quantileSorted = (sorted: ArrayLike<number>, q: number): number => {
  if (sorted.length === 0) throw new RangeError("quantile of no values");
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (pos - lo) * (sorted[hi]! - sorted[lo]!);
};

/**
 * Summary statistics of values: `{ n, nanCount, mean, std, min, q25, median, q75, max }` (NaN left out and counted).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { summary } from "@patchbay/circuits";
 *
 * const s = summary([1, 2, 3, 4, Number.NaN]);
 * assert.equal(s.n, 4);
 * assert.equal(s.nanCount, 1);
 * assert.equal(s.median, 2.5);
 * ```
 */
export const summary = (values: ArrayLike<number>): Summary => {
  const kept: number[] = [];
  let nanCount = 0;
  for (let i = 0; i < values.length; i++)
    if (Number.isNaN(values[i]!)) nanCount++;
    else kept.push(values[i]!);
  const n = kept.length;
  if (n === 0) throw new RangeError(`summary: no values (${nanCount} NaN)`);
  const sorted = Float64Array.from(kept).sort();
  const mean = kept.reduce((s, v) => s + v, 0) / n;
  const ss = kept.reduce((s, v) => s + (v - mean) ** 2, 0);
  return {
    n,
    nanCount,
    mean,
    std: n > 1 ? Math.sqrt(ss / (n - 1)) : 0,
    min: sorted[0]!,
    q25: quantileSorted(sorted, 0.25),
    median: quantileSorted(sorted, 0.5),
    q75: quantileSorted(sorted, 0.75),
    max: sorted[n - 1]!,
  };
};
