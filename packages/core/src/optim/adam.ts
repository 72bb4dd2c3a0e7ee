import type { HostTensor } from "@patchbay/core";

/**
 * Adam (Kingma & Ba) with decoupled weight decay (AdamW, Loshchilov & Hutter) and an optional
 * linear warmup, on float32 weights with float64 moments. At step t = 1, 2, … with gradient g:
 *   m ← β1·m + (1 − β1)·g            v ← β2·v + (1 − β2)·g²
 *   m̂ = m / (1 − β1^t)               v̂ = v / (1 − β2^t)
 *   w ← w − lr_t · (m̂ / (√v̂ + ε) + λ·w)      (λ only for tensors `decay` selects)
 *   lr_t = lr · min(1, t / warmup)   (warmup = 0: lr_t = lr)
 * Every element is updated in float64 and rounded once to float32, in a fixed order: the update
 * is a pure function of (weights, gradients, state), so training is bit-reproducible.
 */
export interface AdamOptions {
  readonly lr: number;
  readonly beta1?: number;
  readonly beta2?: number;
  readonly eps?: number;
  /** λ, decoupled weight decay (default 0). */
  readonly weightDecay?: number;
  /** Which tensors decay (default: matrices, i.e. rank ≥ 2; not biases, norms). */
  readonly decay?: (name: string, t: HostTensor) => boolean;
  /** Linear warmup over this many steps (default 0). */
  readonly warmup?: number;
  /** Clip the global gradient norm to this value before the update (default: no clipping). */
  readonly clipNorm?: number;
}

export interface AdamState {
  /** Steps taken. */
  readonly t: number;
  readonly m: ReadonlyMap<string, Float64Array>;
  readonly v: ReadonlyMap<string, Float64Array>;
}

export const adamInit = (weights: ReadonlyMap<string, HostTensor>): AdamState => ({
  t: 0,
  m: new Map([...weights].map(([n, w]) => [n, new Float64Array(w.data.length)])),
  v: new Map([...weights].map(([n, w]) => [n, new Float64Array(w.data.length)])),
});

/** lr_t of step t (1-based). */
export const learningRate = (opts: AdamOptions, t: number): number =>
  opts.warmup !== undefined && opts.warmup > 0 ? opts.lr * Math.min(1, t / opts.warmup) : opts.lr;

/** √(Σ g²) over every tensor, in float64. */
export const globalNorm = (grads: ReadonlyMap<string, { readonly data: Float32Array }>): number => {
  let s = 0;
  for (const g of grads.values()) for (let i = 0; i < g.data.length; i++) s += g.data[i]! * g.data[i]!;
  return Math.sqrt(s);
};

/**
 * One Adam step: new weights (fresh arrays; the inputs are not modified) and the new state.
 * Every weight needs a gradient of its size.
 */
export const adamStep = (
  weights: ReadonlyMap<string, HostTensor>,
  grads: ReadonlyMap<string, { readonly data: Float32Array }>,
  state: AdamState,
  opts: AdamOptions,
): { weights: Map<string, HostTensor>; state: AdamState; gradNorm: number } => {
  const b1 = opts.beta1 ?? 0.9;
  const b2 = opts.beta2 ?? 0.999;
  const eps = opts.eps ?? 1e-8;
  const wd = opts.weightDecay ?? 0;
  const decays = opts.decay ?? ((_: string, t: HostTensor) => t.shape.length >= 2);
  const t = state.t + 1;
  const lr = learningRate(opts, t);
  const gradNorm = globalNorm(grads);
  const clip = opts.clipNorm !== undefined && gradNorm > opts.clipNorm ? opts.clipNorm / gradNorm : 1;
  const c1 = 1 - b1 ** t;
  const c2 = 1 - b2 ** t;
  const out = new Map<string, HostTensor>();
  const m = new Map<string, Float64Array>();
  const v = new Map<string, Float64Array>();
  for (const [name, w] of weights) {
    const g = grads.get(name);
    if (g === undefined || g.data.length !== w.data.length)
      throw new Error(`adamStep: no gradient of ${w.data.length} values for ${name}`);
    const m0 = state.m.get(name)!;
    const v0 = state.v.get(name)!;
    const m1 = new Float64Array(m0.length);
    const v1 = new Float64Array(v0.length);
    const w1 = new Float32Array(w.data.length);
    const lambda = wd > 0 && decays(name, w) ? wd : 0;
    for (let i = 0; i < w1.length; i++) {
      const gi = g.data[i]! * clip;
      const mi = b1 * m0[i]! + (1 - b1) * gi;
      const vi = b2 * v0[i]! + (1 - b2) * gi * gi;
      m1[i] = mi;
      v1[i] = vi;
      const wi = w.data[i]!;
      w1[i] = wi - lr * (mi / c1 / (Math.sqrt(vi / c2) + eps) + lambda * wi);
    }
    out.set(name, { data: w1, shape: [...w.shape] });
    m.set(name, m1);
    v.set(name, v1);
  }
  return { weights: out, state: { t, m, v }, gradNorm };
};
