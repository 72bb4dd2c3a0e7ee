import type { HostTensor } from "@patchbay/core/tensor";

/**
 * A tuned-lens translator for one site (Belrose et al. 2023; docs/methods.md#tuned-lens):
 *   T_l(h) = h + A_l h + b_l        A_l [d, d] (row-major: A[i·d + j] maps h_j into output i), b_l [d]
 * Initialised at A = 0, b = 0, i.e. the identity: the tuned lens starts as the logit lens, and
 * the residual form keeps the parametrisation well conditioned when A is small.
 */
export interface Translator {
  readonly site: string;
  /** [d, d] */
  readonly A: Float32Array;
  /** [d] */
  readonly b: Float32Array;
}

/** Translators per site, for one model (by config name and width). */
export interface TunedLens {
  readonly model: string;
  readonly dModel: number;
  readonly translators: readonly Translator[];
}

export const identityTranslator = (site: string, d: number): Translator => ({
  site,
  A: new Float32Array(d * d),
  b: new Float32Array(d),
});

/** T(h) for every row of h [N, d] → [N, d]; float64 accumulation, one rounding to float32. */
export const applyTranslator = (t: Translator, h: HostTensor): HostTensor => {
  const d = t.b.length;
  const N = h.data.length / d;
  const out = new Float32Array(h.data.length);
  for (let r = 0; r < N; r++) {
    const o = r * d;
    for (let i = 0; i < d; i++) {
      let s = h.data[o + i]! + t.b[i]!;
      for (let j = 0; j < d; j++) s += t.A[i * d + j]! * h.data[o + j]!;
      out[o + i] = s;
    }
  }
  return { data: out, shape: [...h.shape] };
};

/**
 * Chain rule from g = ∂L/∂T(h) [N, d] (the engine's gradient of the metric with respect to the
 * patched value) to the translator: with T(h)_i = h_i + Σ_j A_ij h_j + b_i,
 *   ∂L/∂A_ij = Σ_r g_ri h_rj        ∂L/∂b_i = Σ_r g_ri
 * over the rows r whose `use` flag is set (real positions; padding carries no loss), times `scale`.
 */
export const translatorGrads = (
  g: Float32Array,
  h: Float32Array,
  d: number,
  use: (row: number) => boolean,
  scale = 1,
): { A: Float32Array; b: Float32Array } => {
  const N = h.length / d;
  const gA = new Float64Array(d * d);
  const gb = new Float64Array(d);
  for (let r = 0; r < N; r++) {
    if (!use(r)) continue;
    const o = r * d;
    for (let i = 0; i < d; i++) {
      const gi = g[o + i]!;
      if (gi === 0) continue;
      gb[i] = gb[i]! + gi;
      for (let j = 0; j < d; j++) gA[i * d + j] = gA[i * d + j]! + gi * h[o + j]!;
    }
  }
  return {
    A: Float32Array.from(gA, (x) => x * scale),
    b: Float32Array.from(gb, (x) => x * scale),
  };
};
