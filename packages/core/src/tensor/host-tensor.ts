/**
 * A dense float32 tensor on the host, row-major. The one in-memory tensor type of patchbay's
 * TypeScript side: weights, captured activations and reference computations all use it.
 */
export interface HostTensor {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

/**
 * The number of elements of a shape (1 for a scalar's []).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { numel } from "@patchbay/core/tensor";
 *
 * assert.equal(numel([2, 3, 4]), 24);
 * ```
 */
export const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/**
 * A HostTensor over `data` with `shape`; throws when their sizes differ.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Tensor } from "@patchbay/core";
 *
 * const t = Tensor.tensor(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
 * assert.deepEqual(t.shape, [2, 3]);
 * assert.throws(() => Tensor.tensor(new Float32Array(5), [2, 3]));
 * ```
 */
export const tensor = (data: Float32Array, shape: readonly number[]): HostTensor => {
  if (data.length !== numel(shape)) {
    throw new RangeError(
      `tensor: data has ${data.length} elements but shape [${shape.join(", ")}] needs ${numel(shape)}`,
    );
  }
  return { data, shape: [...shape] };
};

/**
 * A HostTensor of zeros.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { zeros } from "@patchbay/core/tensor";
 *
 * assert.deepEqual([...zeros([2, 2]).data], [0, 0, 0, 0]);
 * ```
 */
export const zeros = (shape: readonly number[]): HostTensor => tensor(new Float32Array(numel(shape)), shape);

/**
 * A shape as errors print it: `[2, 3]`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { shapeString } from "@patchbay/core/tensor";
 *
 * assert.equal(shapeString([2, 3]), "[2, 3]");
 * ```
 */
export const shapeString = (shape: readonly number[]): string => `[${shape.join(", ")}]`;

/**
 * Whether two shapes are equal, axis by axis.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sameShape } from "@patchbay/core/tensor";
 *
 * assert.ok(sameShape([2, 3], [2, 3]));
 * assert.ok(!sameShape([2, 3], [3, 2]));
 * ```
 */
export const sameShape = (a: readonly number[], b: readonly number[]): boolean =>
  a.length === b.length && a.every((d, i) => d === b[i]);
