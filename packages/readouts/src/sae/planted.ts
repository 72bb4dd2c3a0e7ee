import { mulberry32, normals } from "@patchbay/core/model";

/**
 * A planted sparse dataset for tests and demos: K unit directions in R^d (seeded normals,
 * normalised), and n tokens x_t = Σ_k a_tk · v_k where each direction is active independently
 * with probability p and a_tk ~ U[lo, hi] when active.
 *   directions  [K, d]      data  [n, d]      codes  [n, K]
 *
 * Returns `{ directions [k·d], data [n·d] (float32), codes [n·k] }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { plantedSparse } from "@patchbay/readouts";
 *
 * const p = plantedSparse({ d: 8, k: 4, n: 100, p: 0.2, seed: 0 });
 * assert.equal(p.data.length, 100 * 8);
 * assert.equal(p.directions.length, 4 * 8);
 * ```
 */
export const plantedSparse = (opts: {
  readonly d: number;
  readonly k: number;
  readonly n: number;
  readonly p: number;
  readonly seed: number;
  readonly lo?: number;
  readonly hi?: number;
}): { directions: Float64Array; data: Float32Array; codes: Float64Array } => {
  const { d, k: K, n, p, seed } = opts;
  const lo = opts.lo ?? 0.5;
  const hi = opts.hi ?? 1.5;
  const directions = Float64Array.from(normals(seed, K * d));
  for (let i = 0; i < K; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += directions[i * d + j]! ** 2;
    for (let j = 0; j < d; j++) directions[i * d + j]! /= Math.sqrt(s);
  }
  const rng = mulberry32(seed + 1);
  const data = new Float32Array(n * d);
  const codes = new Float64Array(n * K);
  for (let t = 0; t < n; t++)
    for (let i = 0; i < K; i++) {
      if (rng() >= p) continue;
      const a = lo + (hi - lo) * rng();
      codes[t * K + i] = a;
      for (let j = 0; j < d; j++) data[t * d + j]! += a * directions[i * d + j]!;
    }
  return { directions, data, codes };
};

/**
 * For each of K true directions [K, d], the max cosine to any decoder column of an SAE ([m, d] rows).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { maxCosines } from "@patchbay/readouts";
 *
 * const truth = Float64Array.of(1, 0); // one direction in d = 2
 * const decoder = Float64Array.of(0, 1, 0.6, 0.8); // two unit columns
 * assert.deepEqual(maxCosines(truth, 1, decoder, 2, 2), [0.6]);
 * ```
 */
export const maxCosines = (
  directions: Float64Array,
  K: number,
  decoder: Float64Array,
  m: number,
  d: number,
): number[] =>
  Array.from({ length: K }, (_, k) => {
    let best = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < m; i++) {
      let dot = 0;
      let nn = 0;
      for (let j = 0; j < d; j++) {
        dot += directions[k * d + j]! * decoder[i * d + j]!;
        nn += decoder[i * d + j]! ** 2;
      }
      if (nn > 0) best = Math.max(best, dot / Math.sqrt(nn));
    }
    return best;
  });
