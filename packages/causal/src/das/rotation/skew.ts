/**
 * Skew-symmetric matrices from free parameters: θ [D(D−1)/2] fills the strict upper triangle
 * row by row, A_ij = θ_ij and A_ji = −θ_ij (i < j), so Aᵀ = −A and A has zero diagonal.
 * The exponential and Cayley maps send such A to orthogonal matrices.
 */

/**
 * D(D−1)/2: the dimension of so(D), the skew-symmetric D × D matrices.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { skewParamCount } from "@patchbay/causal";
 *
 * assert.equal(skewParamCount(4), 6);
 * ```
 */
export const skewParamCount = (d: number): number => (d * (d - 1)) / 2;

/**
 * A [D, D] = skew(θ), θ [D(D−1)/2] in row-major strict-upper order.
 *
 * Returns A as a Float64Array [D·D], row-major.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { skewFromParams } from "@patchbay/causal";
 *
 * assert.deepEqual([...skewFromParams(Float64Array.of(1, 2, 3), 3)], [0, 1, 2, -1, 0, 3, -2, -3, 0]);
 * ```
 */
export const skewFromParams = (theta: Float64Array, d: number): Float64Array => {
  const a = new Float64Array(d * d);
  let t = 0;
  for (let i = 0; i < d; i++)
    for (let j = i + 1; j < d; j++) {
      const v = theta[t++]!;
      a[i * d + j] = v;
      a[j * d + i] = -v;
    }
  return a;
};

/**
 * The pullback of skew: dL/dθ_ij = dL/dA_ij − dL/dA_ji (i < j), since θ_ij enters A at (i, j)
 * with + and at (j, i) with −. gA [D, D] → dθ [D(D−1)/2].
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { skewParamsGrad } from "@patchbay/causal";
 *
 * const gA = Float64Array.of(0, 5, 2, 0); // dL/dA [2, 2]
 * assert.deepEqual([...skewParamsGrad(gA, 2)], [3]); // 5 − 2
 * ```
 */
export const skewParamsGrad = (gA: Float64Array, d: number): Float64Array => {
  const out = new Float64Array(skewParamCount(d));
  let t = 0;
  for (let i = 0; i < d; i++) for (let j = i + 1; j < d; j++) out[t++] = gA[i * d + j]! - gA[j * d + i]!;
  return out;
};
