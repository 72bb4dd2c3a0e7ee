import { mulberry32 } from "@patchbay/core/model";

/**
 * The control task of Hewitt & Liang (2019): every word type (here a token id, or any integer key
 * the dataset gives per row) gets one random label from the task's label set, fixed for the whole
 * dataset. A probe that scores well on it memorises types rather than reading the property, so
 *   selectivity = acc_heldout(task) − acc_heldout(control)
 * measures how much of the task accuracy the representation, not the probe, is responsible for.
 *
 * "uniform" draws each type's label uniformly from the label set; "empirical" draws it from the
 * task labels' empirical distribution (Hewitt & Liang's choice, which keeps the class balance).
 * Types are visited in increasing order, so the labelling depends only on (types, labels, seed).
 *
 * Returns one control label per row.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { controlLabels } from "@patchbay/readouts";
 *
 * const types = [7, 8, 7, 9];
 * const c = controlLabels(types, [0, 1, 0, 1], 0, "uniform");
 * assert.equal(c[0], c[2]); // one label per type, fixed for the dataset
 * assert.ok(c.every((l) => l === 0 || l === 1)); // from the task's label set
 * ```
 */
export const controlLabels = (
  types: readonly number[],
  labels: readonly number[],
  seed: number,
  sampling: "uniform" | "empirical",
): number[] => {
  const set = [...new Set(labels)].sort((a, b) => a - b);
  const rand = mulberry32(seed ^ 0x3c6ef372);
  const byType = new Map<number, number>();
  for (const t of [...new Set(types)].sort((a, b) => a - b)) {
    const pick =
      sampling === "uniform"
        ? set[Math.floor(rand() * set.length)]!
        : labels[Math.floor(rand() * labels.length)]!;
    byType.set(t, pick);
  }
  return types.map((t) => byType.get(t)!);
};
