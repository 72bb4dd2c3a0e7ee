import { WeightFileError } from "../errors/errors.ts";
import { type HostTensor, shapeString } from "../tensor/host-tensor.ts";

/**
 * Finiteness of float data: one pass, no allocation. Used on every tensor a loader decodes (so a
 * NaN or ±Inf weight is a typed error at load, naming the file's tensor and index) and on the
 * logits and metrics of every run (runtime/finite.ts).
 */

/** Index of the first NaN or ±Inf in data[from, to), or −1 when all are finite. */
export const firstNonFinite = (
  data: Float32Array | Float64Array,
  from = 0,
  to: number = data.length,
): number => {
  for (let i = from; i < to; i++) {
    const v = data[i]!;
    // v − v is 0 for every finite v and NaN for NaN and ±Inf
    if (v - v !== 0) return i;
  }
  return -1;
};

/** "NaN", "+Inf" or "-Inf" (or the number, when finite). */
export const showValue = (v: number): string =>
  Number.isNaN(v)
    ? "NaN"
    : v === Number.POSITIVE_INFINITY
      ? "+Inf"
      : v === Number.NEGATIVE_INFINITY
        ? "-Inf"
        : String(v);

/** The row-major multi-index of a flat index. */
export const unravel = (flat: number, shape: readonly number[]): number[] => {
  const out = new Array<number>(shape.length);
  let rest = flat;
  for (let k = shape.length - 1; k >= 0; k--) {
    const d = shape[k]!;
    out[k] = d === 0 ? 0 : rest % d;
    rest = d === 0 ? 0 : Math.floor(rest / d);
  }
  return out;
};

/** "NaN at flat index 17 (index [2, 1] of shape [8, 8])": the form every finiteness error uses. */
export const describeNonFinite = (t: HostTensor, flat: number): string =>
  `${showValue(t.data[flat]!)} at flat index ${flat} (index [${unravel(flat, t.shape).join(", ")}] of shape ${shapeString(t.shape)})`;

/**
 * `t` itself when every value is finite; otherwise a WeightFileError naming the file, the tensor
 * (as the file names it) and the first bad value with its flat and multi-index.
 */
export const checkFinite = (t: HostTensor, file: string, tensor: string): HostTensor => {
  const i = firstNonFinite(t.data);
  if (i >= 0) {
    throw new WeightFileError({ file, tensor, expected: "finite values", found: describeNonFinite(t, i) });
  }
  return t;
};
