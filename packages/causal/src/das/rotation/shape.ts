import type { RotationKind } from "./types.ts";

/** Argument checks shared by the parametrizations. */

/** Throws unless 1 ≤ k ≤ D are integers. */
export const checkShape = (kind: RotationKind, d: number, k: number): void => {
  if (!Number.isInteger(d) || !Number.isInteger(k) || d < 1 || k < 1 || k > d)
    throw new RangeError(`das/rotation ${kind}: need integers 1 ≤ k ≤ D, got D = ${d}, k = ${k}`);
};

/** Throws unless a has the length a shape asks for. */
export const checkLength = (what: string, a: Float64Array, n: number): void => {
  if (a.length !== n) throw new RangeError(`das/rotation: ${what} has length ${a.length}, expected ${n}`);
};
