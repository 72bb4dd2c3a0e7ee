/**
 * Skew-symmetric matrices from free parameters: θ [D(D−1)/2] fills the strict upper triangle
 * row by row, A_ij = θ_ij and A_ji = −θ_ij (i < j), so Aᵀ = −A and A has zero diagonal.
 * The exponential and Cayley maps send such A to orthogonal matrices.
 */

/** D(D−1)/2: the dimension of so(D), the skew-symmetric D × D matrices. */
export const skewParamCount = (d: number): number => (d * (d - 1)) / 2;

/** A [D, D] = skew(θ), θ [D(D−1)/2] in row-major strict-upper order. */
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
 */
export const skewParamsGrad = (gA: Float64Array, d: number): Float64Array => {
  const out = new Float64Array(skewParamCount(d));
  let t = 0;
  for (let i = 0; i < d; i++) for (let j = i + 1; j < d; j++) out[t++] = gA[i * d + j]! - gA[j * d + i]!;
  return out;
};
