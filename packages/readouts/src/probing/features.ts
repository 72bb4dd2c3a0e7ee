import { mulberry32 } from "@patchbay/core/model";

/**
 * Plain numeric helpers of probing: standardisation, the seeded held-out split, class indexing
 * and the majority baseline. Feature matrices are row-major Float64Array [n, d].
 */

export interface Standardizer {
  /** μ [d] and σ [d] of the training rows; σ = 1 where a feature is constant (no division by 0). */
  readonly mean: Float64Array;
  readonly std: Float64Array;
}

/**
 * μ_k = mean_i X[i, k], σ_k = √(mean_i (X[i, k] − μ_k)²) over the given rows.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fitStandardizer } from "@patchbay/readouts";
 *
 * const s = fitStandardizer(Float64Array.of(1, 10, 3, 10), 2, [0, 1]); // rows [1, 10], [3, 10]
 * assert.deepEqual([...s.mean], [2, 10]);
 * assert.equal(s.std[0], 1);
 * ```
 */
export const fitStandardizer = (X: Float64Array, d: number, rows: readonly number[]): Standardizer => {
  const mean = new Float64Array(d);
  const std = new Float64Array(d);
  for (const i of rows) for (let k = 0; k < d; k++) mean[k]! += X[i * d + k]!;
  for (let k = 0; k < d; k++) mean[k]! /= Math.max(1, rows.length);
  for (const i of rows)
    for (let k = 0; k < d; k++) {
      const c = X[i * d + k]! - mean[k]!;
      std[k]! += c * c;
    }
  for (let k = 0; k < d; k++) {
    const s = Math.sqrt(std[k]! / Math.max(1, rows.length));
    std[k] = s > 1e-12 ? s : 1;
  }
  return { mean, std };
};

/**
 * The rows of X (in the given order), standardised (x − μ)/σ when s is given.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fitStandardizer, selectRows } from "@patchbay/readouts";
 *
 * const X = Float64Array.of(1, 10, 3, 20);
 * assert.deepEqual([...selectRows(X, 2, [1], null)], [3, 20]);
 * const s = fitStandardizer(X, 2, [0, 1]);
 * assert.deepEqual([...selectRows(X, 2, [1], s)], [1, 1]); // (x − μ)/σ
 * ```
 */
export const selectRows = (
  X: Float64Array,
  d: number,
  rows: readonly number[],
  s: Standardizer | null,
): Float64Array => {
  const out = new Float64Array(rows.length * d);
  rows.forEach((i, r) => {
    for (let k = 0; k < d; k++) {
      const v = X[i * d + k]!;
      out[r * d + k] = s === null ? v : (v - s.mean[k]!) / s.std[k]!;
    }
  });
  return out;
};

/**
 * A seeded Fisher–Yates permutation of 0 … n − 1.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { permutation } from "@patchbay/readouts";
 *
 * const p = permutation(5, 1);
 * assert.deepEqual([...p].sort(), [0, 1, 2, 3, 4]);
 * assert.deepEqual(permutation(5, 1), p); // seeded
 * ```
 */
export const permutation = (n: number, seed: number): number[] => {
  const rand = mulberry32(seed);
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return p;
};

/**
 * Split groups (prompts) into train and held-out: a seeded permutation, the first
 * round(fraction · n) groups held out (at least one on each side when n ≥ 2). Splitting by prompt,
 * not by row, keeps positions of one prompt from leaking across the split.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { splitGroups } from "@patchbay/readouts";
 *
 * const { train, heldOut } = splitGroups(8, 0.25, 0);
 * assert.equal(heldOut.length, 2);
 * assert.deepEqual([...train, ...heldOut].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7]);
 * ```
 */
export const splitGroups = (
  n: number,
  fraction: number,
  seed: number,
): { readonly train: number[]; readonly heldOut: number[] } => {
  const p = permutation(n, seed);
  const k = n < 2 ? 0 : Math.min(n - 1, Math.max(1, Math.round(fraction * n)));
  return { heldOut: p.slice(0, k).sort((a, b) => a - b), train: p.slice(k).sort((a, b) => a - b) };
};

/**
 * Sorted distinct labels and each row's class index into them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { indexClasses } from "@patchbay/readouts";
 *
 * const { classes, y } = indexClasses([7, 3, 7]);
 * assert.deepEqual(classes, [3, 7]);
 * assert.deepEqual([...y], [1, 0, 1]);
 * ```
 */
export const indexClasses = (labels: readonly number[]): { classes: number[]; y: Int32Array } => {
  const classes = [...new Set(labels)].sort((a, b) => a - b);
  const at = new Map(classes.map((c, i) => [c, i] as const));
  return { classes, y: Int32Array.from(labels, (l) => at.get(l)!) };
};

/**
 * Accuracy of always predicting the most frequent training class, on the held-out rows.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { majorityBaseline } from "@patchbay/readouts";
 *
 * assert.equal(majorityBaseline(Int32Array.of(1, 1, 0), Int32Array.of(1, 0), 2), 0.5);
 * ```
 */
export const majorityBaseline = (yTrain: Int32Array, yHeld: Int32Array, C: number): number => {
  const counts = new Int32Array(C);
  for (const c of yTrain) counts[c]!++;
  let best = 0;
  for (let c = 1; c < C; c++) if (counts[c]! > counts[best]!) best = c;
  if (yHeld.length === 0) return 0;
  let hit = 0;
  for (const c of yHeld) if (c === best) hit++;
  return hit / yHeld.length;
};
