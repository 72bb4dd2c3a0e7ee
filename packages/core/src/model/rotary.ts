import type { RotaryConfig } from "./config.ts";

/**
 * The rotary inverse frequencies f_i (radians per position) of pairs i = 0 … r/2 − 1:
 * base^(−2i/r), rescaled as `r.scaling` says (see RopeScaling in ./config.ts). The ONNX builder
 * reads them from here; the naive reference (reference/attention.ts) writes the same rule again
 * on its own, as the independent oracle.
 */
export const rotaryFrequencies = (r: RotaryConfig): Float64Array => {
  const half = r.dim / 2;
  const f = new Float64Array(half);
  for (let i = 0; i < half; i++) f[i] = r.base ** ((-2 * i) / r.dim);
  const s = r.scaling;
  if (s === undefined || s === null) return f;
  if (s.kind === "divisors") return f.map((x, i) => x / s.divisors[i]!);
  const longest = s.originalContext / s.lowFreqFactor; //  wavelengths above: divided by the factor
  const shortest = s.originalContext / s.highFreqFactor; // wavelengths below: kept
  return f.map((x) => {
    const wavelength = (2 * Math.PI) / x;
    if (wavelength < shortest) return x;
    if (wavelength > longest) return x / s.factor;
    const smooth = (s.originalContext / wavelength - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
    return ((1 - smooth) * x) / s.factor + smooth * x;
  });
};
