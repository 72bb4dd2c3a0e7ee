/**
 * Test helpers for the rotation layer (not exported from index.ts): central finite
 * differences and error measures in float64.
 */
import { gaussian } from "./random.ts";

/** (f(h) − f(−h)) / 2h: the derivative at 0 with error O(h²·f‴) + O(ε·|f|/h). */
export const centralDifference = (f: (t: number) => number, h = 1e-5): number => (f(h) - f(-h)) / (2 * h);

/** |a − b| / max(|a|, |b|, floor): relative error that does not blow up at 0. */
export const relativeError = (a: number, b: number, floor = 1e-6): number =>
  Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b), floor);

/** ‖a − b‖_F / max(‖a‖_F, ‖b‖_F, floor). */
export const relativeErrorArray = (a: Float64Array, b: Float64Array, floor = 1e-12): number => {
  let diff = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    diff += (a[i]! - b[i]!) ** 2;
    na += a[i]! ** 2;
    nb += b[i]! ** 2;
  }
  return Math.sqrt(diff) / Math.max(Math.sqrt(na), Math.sqrt(nb), floor);
};

/** max_i |a_i − b_i|. */
export const maxAbsDiff = (a: Float64Array, b: Float64Array): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

/** n normals scaled by s, for seed. */
export const randn = (seed: number, n: number, s = 1): Float64Array => gaussian(seed, n).map((z) => s * z);
