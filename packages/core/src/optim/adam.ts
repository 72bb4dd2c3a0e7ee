import { InputError } from "../errors/errors.ts";
import type { HostTensor } from "../tensor/index.ts";

/**
 * Adam (Kingma & Ba) with decoupled weight decay (AdamW, Loshchilov & Hutter) and an optional
 * linear warmup, on float32 weights with float64 moments. At step t = 1, 2, … with gradient g:
 *   m ← β1·m + (1 − β1)·g            v ← β2·v + (1 − β2)·g²
 *   m̂ = m / (1 − β1^t)               v̂ = v / (1 − β2^t)
 *   w ← w − lr_t · (m̂ / (√v̂ + ε) + λ·w)      (λ only for tensors `decay` selects)
 *   lr_t = lr · min(1, t / warmup)   (warmup = 0: lr_t = lr)
 * Every element is updated in float64 and rounded once to float32, in a fixed order: the update
 * is a pure function of (weights, gradients, state), so training is bit-reproducible.
 *
 * One Adam for every trainer: the zoo's trained models, DAS (packages/causal/src/das), the tuned
 * lens (adamStep: float32 weights, fresh arrays) and the SAEs (adamStepInPlace: float64 parameters
 * updated in place). They differ only in where lr multiplies (`lrAt`), kept so each caller's numbers
 * stay bit-identical to what they were.
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
  /**
   * Where lr multiplies, which changes the float rounding: "update" (default) w − lr_t·(m̂/(√v̂ + ε) + λ·w),
   * as the zoo trainers, DAS and the tuned lens have it; "moment" w − (lr_t·m̂)/(√v̂ + ε) − lr_t·λ·w,
   * as the SAE trainer has it.
   */
  readonly lrAt?: "update" | "moment";
}

export interface AdamState {
  /** Steps taken. */
  readonly t: number;
  readonly m: ReadonlyMap<string, Float64Array>;
  readonly v: ReadonlyMap<string, Float64Array>;
}

/**
 * Zero moments for every tensor of `weights` (HostTensors, or anything with `data`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { adamInit } from "@patchbay/core/optim";
 *
 * const state = adamInit(new Map([["w", { data: new Float32Array(3), shape: [3] }]]));
 * assert.equal(state.t, 0);
 * assert.deepEqual([...state.m.get("w")!], [0, 0, 0]);
 * ```
 */
export const adamInit = (weights: ReadonlyMap<string, { readonly data: ArrayLike<number> }>): AdamState => ({
  t: 0,
  m: new Map([...weights].map(([n, w]) => [n, new Float64Array(w.data.length)])),
  v: new Map([...weights].map(([n, w]) => [n, new Float64Array(w.data.length)])),
});

/**
 * lr_t of step t (1-based).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { learningRate } from "@patchbay/core/optim";
 *
 * assert.equal(learningRate({ lr: 1e-3, warmup: 10 }, 5), 5e-4);
 * assert.equal(learningRate({ lr: 1e-3, warmup: 10 }, 20), 1e-3);
 * ```
 */
export const learningRate = (opts: AdamOptions, t: number): number =>
  opts.warmup !== undefined && opts.warmup > 0 ? opts.lr * Math.min(1, t / opts.warmup) : opts.lr;

/**
 * √(Σ g²) over every tensor, in float64.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { globalNorm } from "@patchbay/core/optim";
 *
 * const grads = new Map([
 *   ["a", { data: new Float32Array([3]) }],
 *   ["b", { data: new Float32Array([4]) }],
 * ]);
 * assert.equal(globalNorm(grads), 5);
 * ```
 */
export const globalNorm = (grads: ReadonlyMap<string, { readonly data: Float32Array }>): number => {
  let s = 0;
  for (const g of grads.values()) for (let i = 0; i < g.data.length; i++) s += g.data[i]! * g.data[i]!;
  return Math.sqrt(s);
};

/** The constants of step t shared by every tensor. */
interface StepConstants {
  readonly b1: number;
  readonly b2: number;
  readonly eps: number;
  /** lr_t */
  readonly lr: number;
  /** 1 − β1^t, 1 − β2^t */
  readonly c1: number;
  readonly c2: number;
  /** The gradient's factor from global-norm clipping (1: none). */
  readonly clip: number;
  readonly lrAt: "update" | "moment";
}

const stepConstants = (opts: AdamOptions, t: number, clip: number): StepConstants => {
  const b1 = opts.beta1 ?? 0.9;
  const b2 = opts.beta2 ?? 0.999;
  return {
    b1,
    b2,
    eps: opts.eps ?? 1e-8,
    lr: learningRate(opts, t),
    c1: 1 - b1 ** t,
    c2: 1 - b2 ** t,
    clip,
    lrAt: opts.lrAt ?? "update",
  };
};

/**
 * The update of one tensor, element by element in float64: reads w, g, m0, v0 and writes w1, m1,
 * v1 (which may be the same arrays as w, m0, v0: each element is read before it is written).
 */
const updateTensor = (
  w: ArrayLike<number>,
  g: ArrayLike<number>,
  m0: Float64Array,
  v0: Float64Array,
  w1: Float32Array | Float64Array,
  m1: Float64Array,
  v1: Float64Array,
  lambda: number,
  k: StepConstants,
): void => {
  const { b1, b2, eps, lr, c1, c2, clip } = k;
  for (let i = 0; i < w1.length; i++) {
    const gi = g[i]! * clip;
    const mi = b1 * m0[i]! + (1 - b1) * gi;
    const vi = b2 * v0[i]! + (1 - b2) * gi * gi;
    m1[i] = mi;
    v1[i] = vi;
    const wi = w[i]!;
    if (k.lrAt === "update") w1[i] = wi - lr * (mi / c1 / (Math.sqrt(vi / c2) + eps) + lambda * wi);
    else {
      const moved = wi - (lr * (mi / c1)) / (Math.sqrt(vi / c2) + eps);
      w1[i] = lambda === 0 ? moved : moved - lr * lambda * wi;
    }
  }
};

const decayOf = (opts: AdamOptions, name: string, w: HostTensor): number => {
  const wd = opts.weightDecay ?? 0;
  const decays = opts.decay ?? ((_: string, t: HostTensor) => t.shape.length >= 2);
  return wd > 0 && decays(name, w) ? wd : 0;
};

/**
 * One Adam step: new weights (fresh arrays; the inputs are not modified) and the new state.
 * Every weight needs a gradient of its size.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { adamInit, adamStep } from "@patchbay/core/optim";
 * import type { HostTensor } from "@patchbay/core/tensor";
 *
 * // minimise (w − 3)²: the gradient is 2(w − 3)
 * let weights = new Map<string, HostTensor>([["w", { data: new Float32Array([0]), shape: [1] }]]);
 * let state = adamInit(weights);
 * for (let i = 0; i < 200; i++) {
 *   const grad = new Map([["w", { data: new Float32Array([2 * (weights.get("w")!.data[0]! - 3)]) }]]);
 *   ({ weights, state } = adamStep(weights, grad, state, { lr: 0.1 }));
 * }
 * assert.ok(Math.abs(weights.get("w")!.data[0]! - 3) < 0.05);
 * ```
 */
export const adamStep = (
  weights: ReadonlyMap<string, HostTensor>,
  grads: ReadonlyMap<string, { readonly data: Float32Array }>,
  state: AdamState,
  opts: AdamOptions,
): { weights: Map<string, HostTensor>; state: AdamState; gradNorm: number } => {
  const t = state.t + 1;
  const gradNorm = globalNorm(grads);
  const clip = opts.clipNorm !== undefined && gradNorm > opts.clipNorm ? opts.clipNorm / gradNorm : 1;
  const k = stepConstants(opts, t, clip);
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
    updateTensor(w.data, g.data, m0, v0, w1, m1, v1, decayOf(opts, name, w), k);
    out.set(name, { data: w1, shape: [...w.shape] });
    m.set(name, m1);
    v.set(name, v1);
  }
  return { weights: out, state: { t, m, v }, gradNorm };
};

/**
 * One Adam step on float64 parameters, in place (parameters and the state's moments are
 * overwritten; the returned state shares the moment arrays). Every parameter needs a gradient of
 * its size. Weight decay and clipping are not offered here: `weightDecay` and `clipNorm` must be
 * unset (a caller that needs them uses adamStep).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { adamInit, adamStepInPlace } from "@patchbay/core/optim";
 *
 * const params = new Map([["w", new Float64Array([1])]]);
 * let state = adamInit(new Map([["w", { data: params.get("w")! }]]));
 * state = adamStepInPlace(params, new Map([["w", [0.5]]]), state, { lr: 0.01 });
 * assert.equal(state.t, 1);
 * assert.ok(Math.abs(params.get("w")![0]! - 0.99) < 1e-9); // the first step moves lr against the gradient's sign
 * ```
 */
export const adamStepInPlace = (
  params: ReadonlyMap<string, Float64Array>,
  grads: ReadonlyMap<string, ArrayLike<number>>,
  state: AdamState,
  opts: AdamOptions,
): AdamState => {
  if ((opts.weightDecay ?? 0) !== 0 || opts.clipNorm !== undefined)
    throw new InputError({
      field: opts.clipNorm !== undefined ? "clipNorm" : "weightDecay",
      expected: "unset for adamStepInPlace (adamStep takes weight decay and clipping)",
      found: String(opts.clipNorm ?? opts.weightDecay),
    });
  const t = state.t + 1;
  const k = stepConstants(opts, t, 1);
  for (const [name, p] of params) {
    const g = grads.get(name);
    if (g === undefined || g.length !== p.length)
      throw new Error(`adamStepInPlace: no gradient of ${p.length} values for ${name}`);
    const m = state.m.get(name)!;
    const v = state.v.get(name)!;
    updateTensor(p, g, m, v, p, m, v, 0, k);
  }
  return { t, m: state.m, v: state.v };
};
