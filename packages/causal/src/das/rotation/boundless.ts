/**
 * The Boundless DAS mask (Wu et al. 2023, "Interpretability at Scale"): instead of fixing the
 * subspace size k, intervene on all D rotated coordinates through a soft interval mask
 *
 *   m_i = σ((i − b_lo)/T) · σ((b_hi − i)/T),   i = 0 … D−1,
 *
 * ≈ 1 for b_lo < i < b_hi and ≈ 0 outside, the edges as soft as T. The bounds b_lo, b_hi are
 * learned; T is annealed (50 → 0.1) so the mask starts smooth — every coordinate gets gradient —
 * and ends nearly binary, when Σ m_i reads off the subspace size the model needed.
 */

export interface MaskBounds {
  /** b_lo: the soft lower edge, in coordinate units. */
  readonly lo: number;
  /** b_hi: the soft upper edge. */
  readonly hi: number;
}

/** σ(x) = 1/(1 + e^(−x)), written so that neither branch overflows (x up to ±D/T). */
const sigmoid = (x: number): number => {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
};

/**
 * m [D].
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { boundlessMask } from "@patchbay/causal";
 *
 * const m = boundlessMask(6, { lo: 1, hi: 3 }, 0.01);
 * assert.deepEqual([...m].map((x) => Math.round(x * 2) / 2), [0, 0.5, 1, 0.5, 0, 0]);
 * ```
 */
export const boundlessMask = (d: number, bounds: MaskBounds, temperature: number): Float64Array => {
  const m = new Float64Array(d);
  for (let i = 0; i < d; i++)
    m[i] = sigmoid((i - bounds.lo) / temperature) * sigmoid((bounds.hi - i) / temperature);
  return m;
};

/**
 * (dL/db_lo, dL/db_hi) from dL/dm [D]. With σ' = σ(1 − σ) and 1 − σ(x) = σ(−x):
 *
 *   ∂m_i/∂b_lo = −m_i σ(−(i − b_lo)/T) / T,   ∂m_i/∂b_hi = m_i σ(−(b_hi − i)/T) / T
 *
 * (σ(−x) computed directly, not as 1 − σ(x), which cancels to 0 where the gradient is ~e^(−x)).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { boundlessMask, boundlessMaskVjp } from "@patchbay/causal";
 *
 * const dm = Float64Array.of(1, 1, 1, 1, 1, 1); // L = Σ m
 * const { hi } = boundlessMaskVjp(6, { lo: 1, hi: 3 }, 0.5, dm);
 * const sum = (b: number) => boundlessMask(6, { lo: 1, hi: b }, 0.5).reduce((a, x) => a + x, 0);
 * assert.ok(Math.abs((sum(3 + 1e-6) - sum(3)) / 1e-6 - hi) < 1e-4);
 * ```
 */
export const boundlessMaskVjp = (
  d: number,
  bounds: MaskBounds,
  temperature: number,
  dm: Float64Array,
): { lo: number; hi: number } => {
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < d; i++) {
    const xl = (i - bounds.lo) / temperature;
    const xh = (bounds.hi - i) / temperature;
    const m = sigmoid(xl) * sigmoid(xh);
    const g = dm[i]!;
    lo -= (g * m * sigmoid(-xl)) / temperature;
    hi += (g * m * sigmoid(-xh)) / temperature;
  }
  return { lo, hi };
};

/**
 * The effective subspace size k = Σ_i m_i of a mask m [D].
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { subspaceSize } from "@patchbay/causal";
 *
 * assert.equal(subspaceSize(Float64Array.of(1, 0.5, 0.5, 0)), 2);
 * ```
 */
export const subspaceSize = (mask: Float64Array): number => {
  let s = 0;
  for (let i = 0; i < mask.length; i++) s += mask[i]!;
  return s;
};

export interface TemperatureSchedule {
  /** T at step 0 (default 50). */
  readonly from?: number;
  /** T at the last step, steps − 1 (default 0.1). */
  readonly to?: number;
  /**
   * "linear" (default; T = from + (to − from)·t, as pyvene's linspace) or "exponential"
   * (T = from·(to/from)^t, equal ratios per step), t = step/(steps − 1) ∈ [0, 1].
   */
  readonly schedule?: "linear" | "exponential";
}

/**
 * The annealed temperature at step ∈ [0, steps) (clamped outside).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { temperature } from "@patchbay/causal";
 *
 * assert.equal(temperature(0, 10), 50); // the default schedule starts at 50 …
 * assert.ok(temperature(9, 10) < 0.11); // … and anneals to 0.1
 * ```
 */
export const temperature = (step: number, steps: number, opts: TemperatureSchedule = {}): number => {
  const from = opts.from ?? 50;
  const to = opts.to ?? 0.1;
  const t = steps <= 1 ? 1 : Math.min(1, Math.max(0, step / (steps - 1)));
  if (opts.schedule === "exponential") {
    if (!(from > 0 && to > 0))
      throw new RangeError("das/rotation temperature: exponential needs from, to > 0");
    return from * (to / from) ** t;
  }
  return from + (to - from) * t;
};
