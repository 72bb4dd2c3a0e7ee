/**
 * Summary statistics of a neuron's activations over every real token of a dataset, in float64.
 */

export interface Moments {
  readonly n: number;
  readonly mean: number;
  /** Population variance m₂ = Σ(x − μ)²/n. */
  readonly variance: number;
  readonly stdev: number;
  /** m₃ / m₂^{3/2} (population, scipy.stats.skew's default); null when m₂ = 0. */
  readonly skewness: number | null;
  /** Excess kurtosis m₄ / m₂² − 3 (Fisher, scipy.stats.kurtosis's default); null when m₂ = 0. */
  readonly kurtosis: number | null;
  readonly min: number;
  readonly max: number;
}

/**
 * Streaming central moments (Welford / Terriberry's one-pass update), exact enough in float64 for
 * millions of tokens. With δ = x − μ_{n−1}, δ_n = δ/n, t = δ·δ_n·(n − 1):
 *   μ_n = μ + δ_n
 *   M4 += t·δ_n²·(n² − 3n + 3) + 6δ_n²·M2 − 4δ_n·M3
 *   M3 += t·δ_n·(n − 2) − 3δ_n·M2
 *   M2 += t
 */
export class MomentAccumulator {
  private n = 0;
  private mean = 0;
  private m2 = 0;
  private m3 = 0;
  private m4 = 0;
  private lo = Number.POSITIVE_INFINITY;
  private hi = Number.NEGATIVE_INFINITY;

  push(x: number): void {
    const n1 = this.n;
    this.n += 1;
    const n = this.n;
    const delta = x - this.mean;
    const dn = delta / n;
    const dn2 = dn * dn;
    const t = delta * dn * n1;
    this.mean += dn;
    this.m4 += t * dn2 * (n * n - 3 * n + 3) + 6 * dn2 * this.m2 - 4 * dn * this.m3;
    this.m3 += t * dn * (n - 2) - 3 * dn * this.m2;
    this.m2 += t;
    if (x < this.lo) this.lo = x;
    if (x > this.hi) this.hi = x;
  }

  result(): Moments {
    const n = this.n;
    if (n === 0) return { n, mean: 0, variance: 0, stdev: 0, skewness: null, kurtosis: null, min: 0, max: 0 };
    const v = this.m2 / n;
    const degenerate = !(v > 0) || this.hi === this.lo;
    return {
      n,
      mean: this.mean,
      variance: degenerate ? 0 : v,
      stdev: degenerate ? 0 : Math.sqrt(v),
      skewness: degenerate ? null : this.m3 / n / v ** 1.5,
      kurtosis: degenerate ? null : this.m4 / n / (v * v) - 3,
      min: this.lo,
      max: this.hi,
    };
  }
}

/**
 * The q-quantile of sorted values by linear interpolation between order statistics (numpy's
 * default, "linear"): h = (n − 1)q, x_⌊h⌋ + (h − ⌊h⌋)(x_⌊h⌋+1 − x_⌊h⌋).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { quantileSorted } from "@patchbay/readouts";
 *
 * assert.equal(quantileSorted([0, 10], 0.25), 2.5);
 * ```
 */
export const quantileSorted = (sorted: readonly number[], q: number): number => {
  if (sorted.length === 0) return Number.NaN;
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
};

/**
 * k bins of equal mass: the k − 1 interior boundaries b_i = quantile(i/k), i = 1 … k − 1. Bin 0 is
 * x < b_1, bin i is b_i ≤ x < b_{i+1}, the last bin x ≥ b_{k−1}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { quantileBoundaries } from "@patchbay/readouts";
 *
 * assert.deepEqual(quantileBoundaries([0, 1, 2, 3, 4], 2), [2]); // two bins split at the median
 * ```
 */
export const quantileBoundaries = (values: readonly number[], k: number): number[] => {
  const sorted = [...values].sort((a, b) => a - b);
  return Array.from({ length: Math.max(0, k - 1) }, (_, i) => quantileSorted(sorted, (i + 1) / k));
};

/**
 * The bin of x under interior boundaries b (see quantileBoundaries).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { binOf } from "@patchbay/readouts";
 *
 * assert.equal(binOf(1, [2, 4]), 0);
 * assert.equal(binOf(2, [2, 4]), 1);
 * assert.equal(binOf(9, [2, 4]), 2);
 * ```
 */
export const binOf = (x: number, boundaries: readonly number[]): number => {
  let i = 0;
  while (i < boundaries.length && x >= boundaries[i]!) i++;
  return i;
};

/**
 * k distinct indices of [0, n) drawn uniformly without replacement by a partial Fisher–Yates
 * shuffle driven by `uniform` (mulberry32), in draw order.
 */
export const sampleWithoutReplacement = (n: number, k: number, uniform: () => number): number[] => {
  const idx = Array.from({ length: n }, (_, i) => i);
  const m = Math.min(n, k);
  for (let i = 0; i < m; i++) {
    const j = i + Math.floor(uniform() * (n - i));
    const t = idx[i]!;
    idx[i] = idx[j]!;
    idx[j] = t;
  }
  return idx.slice(0, m);
};
