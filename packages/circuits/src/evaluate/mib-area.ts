/**
 * MIB circuit-localization areas (docs/methods.md#mib-cpr-and-cmd).
 *
 * Source: MIB's circuit track, `evaluate_area_under_curve` in MIB_circuit_track/evaluation.py
 * (stored copy: cisnlp/MIB-circuit-track, the fork of the official repository):
 * - grid `percentages = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1)`, i.e. the
 *   fraction of edges (0.1 % … 100 %), and x is that fraction itself (linear, unless its
 *   `log_scale` flag, off by default, takes logs);
 * - at each point the circuit is `apply_topn(int(pct * n_edges), absolute, prune=True)` (or
 *   apply_greedy), and f = (score − corrupted) / (baseline − corrupted) on means;
 * - `area_under` (CPR) = Σ_i (x_{i+1} − x_i)(f_i + f_{i+1})/2 and `area_from_1` (CMD) =
 *   Σ_i (x_{i+1} − x_i)(|1 − f_i| + |1 − f_{i+1}|)/2: trapezoids between consecutive grid
 *   points only, with no point at x = 0, so the x-range is [0.001, 1] (width 0.999);
 * - scripts/print_results.py reads CPR from the run with abs-False (signed scores) and CMD
 *   from the run with abs-True (|scores|).
 */
export const MIB_PERCENTAGES: readonly number[] = [0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100];
/** The same grid as edge fractions k/100: MIB's x-axis. */
export const MIB_FRACTIONS: readonly number[] = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1];

/**
 * Trapezoid rule Σ (x_{i+1} − x_i)(y_i + y_{i+1})/2 over points sorted by x.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { trapezoid } from "@patchbay/circuits";
 *
 * assert.equal(trapezoid([0, 1, 2], [0, 1, 1]), 1.5);
 * ```
 */
export const trapezoid = (x: readonly number[], y: readonly number[]): number => {
  if (x.length !== y.length) throw new RangeError(`trapezoid: ${x.length} x values, ${y.length} y values`);
  if (x.length < 2) throw new RangeError("trapezoid: need at least two points");
  let area = 0;
  for (let i = 0; i + 1 < x.length; i++) {
    if (!(x[i + 1]! > x[i]!))
      throw new RangeError(
        `trapezoid: x must increase strictly (x[${i}] = ${x[i]}, x[${i + 1}] = ${x[i + 1]})`,
      );
    area += ((x[i + 1]! - x[i]!) * (y[i]! + y[i + 1]!)) / 2;
  }
  return area;
};

export interface MibAreas {
  /** Area under f: CPR, higher is better (MIB `area_under`). */
  readonly cpr: number;
  /** Area under |1 − f|: CMD, 0 is best (MIB `area_from_1`). */
  readonly cmd: number;
  /** Plain mean of f over the grid (MIB `average`). */
  readonly meanFaithfulness: number;
}

/**
 * CPR and CMD from faithfulness at edge fractions (default MIB_FRACTIONS). Note MIB computes
 * both from one curve per run: take CPR from the curve of signed-score circuits and CMD from the
 * curve of |score| circuits.
 *
 * Returns `{ cpr, cmd, meanFaithfulness }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MIB_FRACTIONS, mibAreas } from "@patchbay/circuits";
 *
 * const perfect = mibAreas(MIB_FRACTIONS.map(() => 1)); // f = 1 at every fraction
 * assert.ok(Math.abs(perfect.cpr - 0.999) < 1e-9); // the grid spans fractions 0.001 … 1
 * assert.ok(Math.abs(perfect.cmd) < 1e-9);
 * assert.equal(perfect.meanFaithfulness, 1);
 * ```
 */
export const mibAreas = (
  faithfulnesses: readonly number[],
  fractions: readonly number[] = MIB_FRACTIONS,
): MibAreas => {
  if (faithfulnesses.length !== fractions.length)
    throw new RangeError(
      `mibAreas: ${faithfulnesses.length} faithfulness values for ${fractions.length} fractions`,
    );
  for (const x of fractions)
    if (!(x >= 0 && x <= 1)) throw new RangeError(`mibAreas: fraction ${x} outside [0, 1]`);
  return {
    cpr: trapezoid(fractions, faithfulnesses),
    cmd: trapezoid(
      fractions,
      faithfulnesses.map((f) => Math.abs(1 - f)),
    ),
    meanFaithfulness: faithfulnesses.reduce((s, f) => s + f, 0) / faithfulnesses.length,
  };
};
