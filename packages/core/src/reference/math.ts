import type { Activation } from "../model/config.ts";

/**
 * The scalar and matrix primitives of the reference forward. Everything is float64 and plain
 * loops: slow, obvious, and independent of the ONNX builder.
 */

/** A dense float64 tensor, row-major. The reference's only tensor type. */
export interface RefTensor {
  readonly data: Float64Array;
  readonly shape: number[];
}

export const refZeros = (shape: readonly number[]): RefTensor => ({
  data: new Float64Array(shape.reduce((a, b) => a * b, 1)),
  shape: [...shape],
});

// ---------------------------------------------------------------------------------------------
// erf, accurate to a few ulp in float64.
//
//   |x| < 3:  erf(x)  = 2/√π · e^{−x²} · Σ_{n≥0} 2ⁿ x^{2n+1} / (1·3·5···(2n+1))
//             (every term is positive, so there is no cancellation; A&S 7.1.6)
//   |x| ≥ 3:  erfc(x) = e^{−x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + …)))))
//             (the Laplace continued fraction, A&S 7.1.14, evaluated bottom-up), erf = 1 − erfc
// ---------------------------------------------------------------------------------------------

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
const ONE_OVER_SQRT_PI = 1 / Math.sqrt(Math.PI);

const erfSeries = (x: number): number => {
  // term_n = 2ⁿ x^{2n+1} / (2n+1)!!;  term_{n+1} = term_n · 2x² / (2n+3)
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 0; n < 200; n++) {
    term *= (2 * x2) / (2 * n + 3);
    sum += term;
    if (term < 1e-17 * sum) break;
  }
  return TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
};

/** erfc(x) for x ≥ 3 by the continued fraction; 60 levels are ample there. */
const erfcContinuedFraction = (x: number): number => {
  // K = x + (1/2)/(x + (2/2)/(x + (3/2)/(x + …)))
  let k = x;
  for (let n = 60; n >= 1; n--) k = x + n / 2 / k;
  return (ONE_OVER_SQRT_PI * Math.exp(-x * x)) / k;
};

export const erf = (x: number): number => {
  if (Number.isNaN(x)) return Number.NaN;
  const a = Math.abs(x);
  const e = a < 3 ? erfSeries(a) : 1 - erfcContinuedFraction(a);
  return x === 0 ? x : x < 0 ? -e : e; // keeps the sign of ±0
};

// ---------------------------------------------------------------------------------------------
// Activations (model/config.ts defines them).
// ---------------------------------------------------------------------------------------------

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** gelu_tanh(x) = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))  (GPT-2's gelu_new) */
export const geluTanh = (x: number): number =>
  0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));

/** gelu(x) = 0.5·x·(1 + erf(x/√2))  (exact) */
export const geluExact = (x: number): number => 0.5 * x * (1 + erf(x / Math.SQRT2));

/** relu(x) = max(0, x) */
export const relu = (x: number): number => Math.max(0, x);

/** silu(x) = x·σ(x) = x / (1 + e^{−x}) */
export const silu = (x: number): number => x / (1 + Math.exp(-x));

export const activation = (kind: Activation): ((x: number) => number) => {
  switch (kind) {
    case "gelu_tanh":
      return geluTanh;
    case "gelu":
      return geluExact;
    case "relu":
      return relu;
    case "silu":
      return silu;
  }
};

// ---------------------------------------------------------------------------------------------
// Linear maps.
// ---------------------------------------------------------------------------------------------

/**
 * y = x·W + b for `rows` row vectors.
 *   x [rows, dIn] (read with stride dIn from xOffset), W [dIn, dOut] starting at wOffset,
 *   b [dOut] starting at bOffset (or absent) → y [rows, dOut].
 * The offsets let per-head matrices W_Q[h] be read in place.
 */
export const linear = (
  x: Float64Array,
  rows: number,
  dIn: number,
  w: Float32Array | Float64Array,
  dOut: number,
  b: Float32Array | Float64Array | null = null,
  wOffset = 0,
  bOffset = 0,
): Float64Array => {
  const y = new Float64Array(rows * dOut);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < dOut; o++) {
      // y[r, o] = Σ_i x[r, i] · W[i, o] + b[o]
      let acc = b === null ? 0 : b[bOffset + o]!;
      for (let i = 0; i < dIn; i++) acc += x[r * dIn + i]! * w[wOffset + i * dOut + o]!;
      y[r * dOut + o] = acc;
    }
  }
  return y;
};

/**
 * Row-wise softmax over the last axis of [rows, n], in place. −∞ entries get probability 0.
 *   p_j = exp(s_j − max_k s_k) / Σ_k exp(s_k − max_k s_k)
 */
export const softmaxRows = (s: Float64Array, rows: number, n: number): void => {
  for (let r = 0; r < rows; r++) {
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < n; j++) max = Math.max(max, s[r * n + j]!);
    let total = 0;
    for (let j = 0; j < n; j++) {
      const e = Math.exp(s[r * n + j]! - max);
      s[r * n + j] = e;
      total += e;
    }
    for (let j = 0; j < n; j++) s[r * n + j] = s[r * n + j]! / total;
  }
};
