/**
 * Multinomial logistic regression (softmax regression) with L2 weight decay, fitted in float64 by
 * full-batch L-BFGS: deterministic (no sampling at all) and, the objective being strictly convex,
 * the optimum does not depend on the start.
 *
 *   logits  z_i = x_i·W + b                          x_i [d], W [d, C], b [C]
 *   loss    L(W, b) = (1/n) Σ_i −log softmax(z_i)[y_i] + (λ/2)‖W‖²   (the bias is not decayed)
 *   grad    ∂L/∂W = (1/n) Xᵀ(P − Y) + λW,   ∂L/∂b = (1/n) Σ_i (p_i − y_i)
 * with P the row softmaxes and Y the one-hot labels.
 */

export interface SoftmaxModel {
  /** W [d, C], row-major. */
  readonly W: Float64Array;
  /** b [C]. */
  readonly b: Float64Array;
  readonly dim: number;
  readonly classes: number;
}

export interface FitOptions {
  /** λ, the L2 weight decay (≥ 0). */
  readonly l2: number;
  readonly maxIter: number;
  /** Stop when ‖∇L‖∞ < tol. */
  readonly tol: number;
}

export interface FitReport {
  readonly model: SoftmaxModel;
  readonly loss: number;
  readonly iterations: number;
  readonly gradNorm: number;
}

/**
 * Loss and gradient at θ = [W (d·C), b (C)]; X [n, d] row-major, y [n] class indices.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { softmaxLoss } from "@patchbay/readouts";
 * const X = Float64Array.of(0, 0, 0, 1, 1, 0, 1, 1); // 4 rows, d = 2
 * const y = Int32Array.of(0, 0, 1, 1); // class = the first feature
 * const theta = new Float64Array(2 * 2 + 2); // W = 0, b = 0: uniform predictions
 * const grad = new Float64Array(theta.length);
 * assert.ok(Math.abs(softmaxLoss(X, y, 2, 2, 0, theta, grad) - Math.log(2)) < 1e-12);
 * ```
 */
export const softmaxLoss = (
  X: Float64Array,
  y: Int32Array,
  d: number,
  C: number,
  l2: number,
  theta: Float64Array,
  grad: Float64Array,
): number => {
  const n = y.length;
  grad.fill(0);
  const z = new Float64Array(C);
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const row = i * d;
    for (let c = 0; c < C; c++) z[c] = theta[d * C + c]!;
    for (let k = 0; k < d; k++) {
      const xk = X[row + k]!;
      if (xk === 0) continue;
      const wk = k * C;
      for (let c = 0; c < C; c++) z[c]! += xk * theta[wk + c]!;
    }
    // stable log-softmax: log p_c = z_c − m − log Σ exp(z − m)
    let m = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < C; c++) m = Math.max(m, z[c]!);
    let s = 0;
    for (let c = 0; c < C; c++) s += Math.exp(z[c]! - m);
    const lse = m + Math.log(s);
    loss += lse - z[y[i]!]!;
    // z ← p − y, then accumulate Xᵀ(P − Y) and Σ(P − Y)
    for (let c = 0; c < C; c++) z[c] = Math.exp(z[c]! - lse);
    z[y[i]!]! -= 1;
    for (let k = 0; k < d; k++) {
      const xk = X[row + k]!;
      if (xk === 0) continue;
      const wk = k * C;
      for (let c = 0; c < C; c++) grad[wk + c]! += xk * z[c]!;
    }
    for (let c = 0; c < C; c++) grad[d * C + c]! += z[c]!;
  }
  const inv = 1 / Math.max(1, n);
  let reg = 0;
  for (let j = 0; j < grad.length; j++) grad[j]! *= inv;
  for (let j = 0; j < d * C; j++) {
    reg += theta[j]! * theta[j]!;
    grad[j]! += l2 * theta[j]!;
  }
  return loss * inv + 0.5 * l2 * reg;
};

const dot = (a: Float64Array, b: Float64Array): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

const maxAbs = (a: Float64Array): number => {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
};

/**
 * Fit W, b by L-BFGS (memory 10) with a backtracking Armijo line search, starting from zero.
 * The two-loop recursion gives the quasi-Newton direction −H∇L from the last m pairs
 * (s_k = θ_{k+1} − θ_k, y_k = ∇_{k+1} − ∇_k), scaled by γ = sᵀy / yᵀy.
 *
 * Returns `{ model: { W, b, dim, classes }, loss, iterations, gradNorm }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { accuracy, fitSoftmax, predictSoftmax } from "@patchbay/readouts";
 * const X = Float64Array.of(0, 0, 0, 1, 1, 0, 1, 1); // 4 rows, d = 2
 * const y = Int32Array.of(0, 0, 1, 1); // class = the first feature
 * const fit = fitSoftmax(X, y, 2, 2, { l2: 1e-3, maxIter: 100, tol: 1e-6 });
 * assert.equal(accuracy(predictSoftmax(fit.model, X), y), 1);
 * ```
 */
export const fitSoftmax = (
  X: Float64Array,
  y: Int32Array,
  d: number,
  C: number,
  opts: FitOptions,
): FitReport => {
  const P = d * C + C;
  let theta = new Float64Array(P);
  let grad = new Float64Array(P);
  let loss = softmaxLoss(X, y, d, C, opts.l2, theta, grad);
  const mem = 10;
  const S: Float64Array[] = [];
  const Yk: Float64Array[] = [];
  const rho: number[] = [];
  let it = 0;
  for (; it < opts.maxIter && maxAbs(grad) >= opts.tol; it++) {
    // two-loop recursion: dir = −H·grad
    const q = Float64Array.from(grad);
    const alpha = new Float64Array(S.length);
    for (let k = S.length - 1; k >= 0; k--) {
      alpha[k] = rho[k]! * dot(S[k]!, q);
      for (let j = 0; j < P; j++) q[j]! -= alpha[k]! * Yk[k]![j]!;
    }
    const last = S.length - 1;
    const gamma =
      last >= 0 ? dot(S[last]!, Yk[last]!) / dot(Yk[last]!, Yk[last]!) : 1 / Math.max(1, maxAbs(grad));
    for (let j = 0; j < P; j++) q[j]! *= gamma;
    for (let k = 0; k < S.length; k++) {
      const beta = rho[k]! * dot(Yk[k]!, q);
      for (let j = 0; j < P; j++) q[j]! += (alpha[k]! - beta) * S[k]![j]!;
    }
    for (let j = 0; j < P; j++) q[j] = -q[j]!;
    let slope = dot(grad, q);
    if (!(slope < 0)) {
      // not a descent direction (curvature broke down): restart from steepest descent
      S.length = 0;
      Yk.length = 0;
      rho.length = 0;
      for (let j = 0; j < P; j++) q[j] = -grad[j]! / Math.max(1, maxAbs(grad));
      slope = dot(grad, q);
    }
    // backtracking line search: accept t when L(θ + t·dir) ≤ L(θ) + 1e-4·t·slope
    let t = 1;
    const next = new Float64Array(P);
    const nextGrad = new Float64Array(P);
    let nextLoss = Number.POSITIVE_INFINITY;
    for (let ls = 0; ls < 40; ls++) {
      for (let j = 0; j < P; j++) next[j] = theta[j]! + t * q[j]!;
      nextLoss = softmaxLoss(X, y, d, C, opts.l2, next, nextGrad);
      if (nextLoss <= loss + 1e-4 * t * slope) break;
      t *= 0.5;
    }
    if (!(nextLoss < loss) && !(nextLoss <= loss + 1e-4 * t * slope)) break; // no progress possible
    const s = new Float64Array(P);
    const yy = new Float64Array(P);
    for (let j = 0; j < P; j++) {
      s[j] = next[j]! - theta[j]!;
      yy[j] = nextGrad[j]! - grad[j]!;
    }
    const sy = dot(s, yy);
    if (sy > 1e-12) {
      S.push(s);
      Yk.push(yy);
      rho.push(1 / sy);
      if (S.length > mem) {
        S.shift();
        Yk.shift();
        rho.shift();
      }
    }
    const improvement = loss - nextLoss;
    theta = next;
    grad = nextGrad;
    loss = nextLoss;
    if (improvement >= 0 && improvement < 1e-14 * Math.max(1, Math.abs(loss))) {
      it++;
      break;
    }
  }
  return {
    model: { W: theta.slice(0, d * C), b: theta.slice(d * C), dim: d, classes: C },
    loss,
    iterations: it,
    gradNorm: maxAbs(grad),
  };
};

/**
 * argmax_c (x_i·W + b)_c for every row of X [n, d].
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { predictSoftmax } from "@patchbay/readouts";
 *
 * const m = { W: Float64Array.of(1, -1), b: Float64Array.of(0, 0), dim: 1, classes: 2 };
 * assert.deepEqual([...predictSoftmax(m, Float64Array.of(2, -3))], [0, 1]);
 * ```
 */
export const predictSoftmax = (m: SoftmaxModel, X: Float64Array): Int32Array => {
  const { dim: d, classes: C } = m;
  const n = X.length / d;
  const out = new Int32Array(n);
  const z = new Float64Array(C);
  for (let i = 0; i < n; i++) {
    z.set(m.b);
    for (let k = 0; k < d; k++) {
      const xk = X[i * d + k]!;
      if (xk === 0) continue;
      for (let c = 0; c < C; c++) z[c]! += xk * m.W[k * C + c]!;
    }
    let best = 0;
    for (let c = 1; c < C; c++) if (z[c]! > z[best]!) best = c;
    out[i] = best;
  }
  return out;
};

/**
 * The fraction of rows whose prediction equals the label (0 for no rows).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { accuracy } from "@patchbay/readouts";
 *
 * assert.equal(accuracy(Int32Array.of(0, 1, 1), Int32Array.of(0, 1, 0)), 2 / 3);
 * ```
 */
export const accuracy = (pred: Int32Array, y: Int32Array): number => {
  if (y.length === 0) return 0;
  let hit = 0;
  for (let i = 0; i < y.length; i++) if (pred[i] === y[i]) hit++;
  return hit / y.length;
};
