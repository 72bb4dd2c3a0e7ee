import type { NormKind } from "../model/config.ts";

/**
 * Normalisation of row vectors, as the site catalogue defines it:
 *   LayerNorm: scale = √(var(x) + eps)  (biased variance),  normalized = (x − mean(x))/scale · w + b
 *   RMSNorm:   scale = √(mean(x²) + eps),                   normalized = x/scale · w
 *   none:      normalized = x, and there is no scale.
 */
export interface NormParams {
  readonly kind: NormKind;
  readonly eps: number;
  /** w [d]; null only for kind "none". */
  readonly w: Float32Array | null;
  /** b [d]; LayerNorm only. */
  readonly b: Float32Array | null;
}

export interface Normalized {
  /** [rows, d] */
  readonly normalized: Float64Array;
  /** [rows] (the site has a trailing 1); null for "none". */
  readonly scale: Float64Array | null;
}

/** Normalise each of the `rows` rows of x [rows, d]. */
export const normalizeRows = (p: NormParams, x: Float64Array, rows: number, d: number): Normalized => {
  if (p.kind === "none") return { normalized: Float64Array.from(x), scale: null };
  const w = p.w!;
  const out = new Float64Array(rows * d);
  const scale = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const row = r * d;
    if (p.kind === "layernorm") {
      // mean = Σ_i x_i / d;  var = Σ_i (x_i − mean)² / d
      let mean = 0;
      for (let i = 0; i < d; i++) mean += x[row + i]!;
      mean /= d;
      let variance = 0;
      for (let i = 0; i < d; i++) variance += (x[row + i]! - mean) ** 2;
      variance /= d;
      // scale = √(var + eps);  y_i = (x_i − mean)/scale · w_i + b_i
      const s = Math.sqrt(variance + p.eps);
      scale[r] = s;
      for (let i = 0; i < d; i++)
        out[row + i] = ((x[row + i]! - mean) / s) * w[i]! + (p.b === null ? 0 : p.b[i]!);
    } else {
      // scale = √(Σ_i x_i² / d + eps);  y_i = x_i/scale · w_i
      let meanSquare = 0;
      for (let i = 0; i < d; i++) meanSquare += x[row + i]! ** 2;
      meanSquare /= d;
      const s = Math.sqrt(meanSquare + p.eps);
      scale[r] = s;
      for (let i = 0; i < d; i++) out[row + i] = (x[row + i]! / s) * w[i]!;
    }
  }
  return { normalized: out, scale };
};
