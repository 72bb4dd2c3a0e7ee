import fc from "fast-check";
import type { ModelConfig, Weights } from "../model/index.ts";
import { arbConfig, arbIds } from "./arbitraries.ts";
import { referenceForward } from "./forward.ts";
import type { RefTensor } from "./math.ts";

/** Helpers shared by the reference's property tests. */

/** A random model with a random batch of ids. */
export const arbCase = (opts: Parameters<typeof arbConfig>[0] = {}) =>
  arbConfig(opts).chain((c) =>
    fc.record({ c: fc.constant(c), seed: fc.nat(1 << 20), ids: arbIds(c, { maxBatch: 2, minLength: 1 }) }),
  );

export const all = (c: ModelConfig, w: Weights, ids: number[][]) =>
  referenceForward(c, w, ids, { sites: "all" });
export const get = (m: Map<string, RefTensor>, name: string): RefTensor => {
  const t = m.get(name);
  if (t === undefined) throw new Error(`missing site ${name}`);
  return t;
};
export const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let m = a.length === b.length ? 0 : Number.POSITIVE_INFINITY;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Object.is(a[i], b[i]) ? 0 : Math.abs(a[i]! - b[i]!));
  return m;
};

/** Index of every element along each axis: idx[axis][flat]. */
export const axisIndex = (shape: readonly number[], axis: number, flat: number): number => {
  let stride = 1;
  for (let k = shape.length - 1; k > axis; k--) stride *= shape[k]!;
  return Math.floor(flat / stride) % shape[axis]!;
};
