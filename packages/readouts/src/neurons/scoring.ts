import type { ActivationRecord } from "./format.ts";

/** A correlation, or null with the reason it is undefined (never NaN). */
export interface Correlation {
  readonly value: number | null;
  readonly reason: "constant real activations" | "constant simulation" | "fewer than 2 tokens" | null;
  readonly n: number;
}

/**
 * Pearson's r in float64, two-pass:
 *   r = Σ (x − x̄)(y − ȳ) / √(Σ (x − x̄)² · Σ (y − ȳ)²)
 * Undefined (null, with a reason) when n < 2 or either vector is constant: its centred sum of
 * squares is 0, or below n·(1e−12·max(1, max|v|))² so that rounding in the mean of a constant
 * float vector cannot pass for variance. Clamped to [−1, 1] against rounding.
 *
 * Returns `{ value, reason, n }`: value null (with the reason) when undefined.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pearson } from "@patchbay/readouts";
 *
 * assert.equal(pearson([1, 2, 3], [2, 4, 6]).value, 1);
 * assert.equal(pearson([1, 1, 1], [2, 4, 6]).reason, "constant real activations");
 * ```
 */
export const pearson = (x: readonly number[], y: readonly number[]): Correlation => {
  const n = Math.min(x.length, y.length);
  if (n < 2) return { value: null, reason: "fewer than 2 tokens", n };
  let mx = 0;
  let my = 0;
  let ax = 0;
  let ay = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i]!;
    my += y[i]!;
    ax = Math.max(ax, Math.abs(x[i]!));
    ay = Math.max(ay, Math.abs(y[i]!));
  }
  mx /= n;
  my /= n;
  let sxx = 0;
  let syy = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i]! - mx;
    const dy = y[i]! - my;
    sxx += dx * dx;
    syy += dy * dy;
    sxy += dx * dy;
  }
  const tiny = (a: number) => n * (1e-12 * Math.max(1, a)) ** 2;
  if (!(sxx > tiny(ax))) return { value: null, reason: "constant real activations", n };
  if (!(syy > tiny(ay))) return { value: null, reason: "constant simulation", n };
  return { value: Math.max(-1, Math.min(1, sxy / Math.sqrt(sxx * syy))), reason: null, n };
};

export interface SimulationScore {
  /**
   * The paper's score ("all at once" correlation scoring, aggregate_scored_sequence_simulations):
   * r over the concatenation of every token of the top and the random records, not a mean of
   * per-record correlations.
   */
  readonly pooled: Correlation;
  /** r over the top records' tokens only, and over the random records' tokens only. */
  readonly top: Correlation;
  readonly random: Correlation;
}

const flat = (rs: readonly (readonly number[])[]): number[] => rs.flatMap((r) => [...r]);

/**
 * Score simulated activations against the records' real ones. `simTop[i]` (`simRandom[i]`) holds
 * one simulated value per token of `top[i]` (`random[i]`); lengths must match (checked by the
 * caller, pipeline.ts).
 *
 * Returns a SimulationScore `{ pooled, top, random, … }`, each a Correlation `{ value, reason, n }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { scoreSimulation } from "@patchbay/readouts";
 * const rec = (tokens: string[]) => ({ tokens, activations: tokens.map((t) => (t === "x" ? 8 : 0)) });
 * const top = [rec(["a", "x"]), rec(["x", "b"])];
 * const random = [rec(["a", "b", "x"])];
 * const perfect = (rs: typeof top) => rs.map((r) => r.activations.map((a) => a / 8));
 * const s = scoreSimulation(top, perfect(top), random, perfect(random));
 * assert.ok(Math.abs(s.pooled.value! - 1) < 1e-12); // an affine map of the truth scores 1
 * ```
 */
export const scoreSimulation = (
  top: readonly ActivationRecord[],
  simTop: readonly (readonly number[])[],
  random: readonly ActivationRecord[],
  simRandom: readonly (readonly number[])[],
): SimulationScore => {
  const realTop = flat(top.map((r) => r.activations));
  const realRandom = flat(random.map((r) => r.activations));
  const sTop = flat(simTop);
  const sRandom = flat(simRandom);
  return {
    pooled: pearson([...realTop, ...realRandom], [...sTop, ...sRandom]),
    top: pearson(realTop, sTop),
    random: pearson(realRandom, sRandom),
  };
};
