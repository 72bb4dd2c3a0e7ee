/**
 * A dense float32 tensor on the host, row-major. The one in-memory tensor type of patchbay's
 * TypeScript side: weights, captured activations and reference computations all use it.
 */
export interface HostTensor {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

export const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

export const tensor = (data: Float32Array, shape: readonly number[]): HostTensor => {
  if (data.length !== numel(shape)) {
    throw new RangeError(
      `tensor: data has ${data.length} elements but shape [${shape.join(", ")}] needs ${numel(shape)}`,
    );
  }
  return { data, shape: [...shape] };
};

export const zeros = (shape: readonly number[]): HostTensor => tensor(new Float32Array(numel(shape)), shape);

export const shapeString = (shape: readonly number[]): string => `[${shape.join(", ")}]`;

export const sameShape = (a: readonly number[], b: readonly number[]): boolean =>
  a.length === b.length && a.every((d, i) => d === b[i]);
