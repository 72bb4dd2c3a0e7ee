import { luFactor, luSolve } from "./lu.ts";
import { matmul, norm1 } from "./matrix.ts";
import { gaussian } from "./random.ts";
import type { Rotation, RotationOptions } from "./types.ts";
import { checkLength, checkShape } from "./shape.ts";
import { skewFromParams, skewParamCount, skewParamsGrad } from "./skew.ts";

/**
 * The exponential parametrization: A = skew(θ), θ [D(D−1)/2], Q = exp(A). Orthogonal because
 * exp(A)ᵀ = exp(Aᵀ) = exp(−A) = exp(A)⁻¹; it covers all of SO(D) (exp is onto for compact
 * connected groups).
 *
 * Forward: scaling and squaring with the [13/13] Padé approximant (Higham 2005):
 * exp(A) = r₁₃(A/2ˢ)^(2ˢ), s = max(0, ⌈log₂(‖A‖₁/θ₁₃)⌉), θ₁₃ = 5.37, for which the backward
 * error of r₁₃ is ≤ 2⁻⁵³. (A diagonal Padé approximant of a skew matrix is itself exactly
 * orthogonal, r(A)ᵀ = r(−A) = r(A)⁻¹, so only rounding separates Q from O(D).)
 *
 * VJP: for L = ⟨G, exp(A)⟩ the gradient is the adjoint of the Fréchet derivative, which for
 * real matrices is the Fréchet derivative at Aᵀ: dL/dA = L_exp(Aᵀ, G). And
 *
 *   exp([[X, E], [0, X]]) = [[exp X, L_exp(X, E)], [0, exp X]]
 *
 * (Najfeld & Havel 1995; Mathias 1996), so dL/dA is the upper-right block of
 * exp([[Aᵀ, G], [0, Aᵀ]]). That block matrix is never formed: block upper-triangular matrices
 * with equal diagonal blocks form an algebra, (X₁, Y₁)(X₂, Y₂) = (X₁X₂, X₁Y₂ + Y₁X₂), so the
 * same Padé-and-squaring program is run on pairs (X, Y) — Al-Mohy & Higham 2009, Alg. 6.4 —
 * for ~3× the cost of exp(A) instead of ~8×. The tests check this against the literal 2D × 2D
 * block exponential and against finite differences.
 */

const b13 = [
  64764752532480000, 32382376266240000, 7771770303897600, 1187353796428800, 129060195264000, 10559470521600,
  670442572800, 33522128640, 1323241920, 40840800, 960960, 16380, 182, 1,
] as const;
const theta13 = 5.371920351148152;

/** Σ_i c_i M_i (+ c_I I), all [n, n]. */
const combo = (n: number, terms: readonly (readonly [number, Float64Array])[], cI = 0): Float64Array => {
  const out = new Float64Array(n * n);
  for (const [c, m] of terms) for (let i = 0; i < out.length; i++) out[i]! += c * m[i]!;
  if (cI !== 0) for (let i = 0; i < n; i++) out[i * n + i]! += cI;
  return out;
};

const add = (a: Float64Array, b: Float64Array): Float64Array => a.map((x, i) => x + b[i]!);
const sub = (a: Float64Array, b: Float64Array): Float64Array => a.map((x, i) => x - b[i]!);

/** The squarings s for A [n, n] (Higham 2005: ‖A/2ˢ‖₁ ≤ θ₁₃). */
const squarings = (a: Float64Array, n: number): number => {
  const nrm = norm1(a, n);
  return nrm > theta13 ? Math.ceil(Math.log2(nrm / theta13)) : 0;
};

/**
 * exp(A) [n, n] and, given E [n, n], the Fréchet derivative L_exp(A, E) [n, n] =
 * d/dt exp(A + tE)|₀. Any real A (not only skew).
 *
 * Returns `{ exp, frechet }` (frechet null without E).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { expm, expmFrechet } from "@patchbay/causal";
 *
 * const A = Float64Array.of(0.1, 0.2, -0.3, 0.4);
 * const E = Float64Array.of(1, 0, 0, 0);
 * const { exp, frechet } = expmFrechet(A, 2, E);
 * const h = 1e-6;
 * const moved = expm(Float64Array.from(A, (a, i) => a + h * E[i]!), 2);
 * assert.ok(Math.abs((moved[0]! - exp[0]!) / h - frechet![0]!) < 1e-4);
 * ```
 */
export const expmFrechet = (
  a: Float64Array,
  n: number,
  e?: Float64Array,
): { exp: Float64Array; frechet: Float64Array | null } => {
  const s = squarings(a, n);
  const scale = 2 ** -s;
  const x = a.map((v) => v * scale);
  const mm = (p: Float64Array, q: Float64Array) => matmul(p, q, n, n, n);
  // powers A₂ = A², A₄ = A₂², A₆ = A₂A₄ of the scaled A
  const x2 = mm(x, x);
  const x4 = mm(x2, x2);
  const x6 = mm(x2, x4);
  // r₁₃ = (V − U)⁻¹(V + U), U = A(A₆W₁ + W₂) odd, V = A₆Z₁ + Z₂ even
  const w1 = combo(n, [
    [b13[13], x6],
    [b13[11], x4],
    [b13[9], x2],
  ]);
  const w2 = combo(
    n,
    [
      [b13[7], x6],
      [b13[5], x4],
      [b13[3], x2],
    ],
    b13[1],
  );
  const z1 = combo(n, [
    [b13[12], x6],
    [b13[10], x4],
    [b13[8], x2],
  ]);
  const z2 = combo(
    n,
    [
      [b13[6], x6],
      [b13[4], x4],
      [b13[2], x2],
    ],
    b13[0],
  );
  const w = add(mm(x6, w1), w2);
  const u = mm(x, w);
  const v = add(mm(x6, z1), z2);
  const f = luFactor(sub(v, u), n);
  let r = luSolve(f, add(u, v), n);
  if (e === undefined) {
    for (let i = 0; i < s; i++) r = mm(r, r);
    return { exp: r, frechet: null };
  }
  // the same program differentiated in direction E/2ˢ: M_j = d(A_j)
  const ex = e.map((val) => val * scale);
  const m2 = add(mm(x, ex), mm(ex, x));
  const m4 = add(mm(x2, m2), mm(m2, x2));
  const m6 = add(mm(x4, m2), mm(m4, x2));
  const lw1 = combo(n, [
    [b13[13], m6],
    [b13[11], m4],
    [b13[9], m2],
  ]);
  const lw2 = combo(n, [
    [b13[7], m6],
    [b13[5], m4],
    [b13[3], m2],
  ]);
  const lz1 = combo(n, [
    [b13[12], m6],
    [b13[10], m4],
    [b13[8], m2],
  ]);
  const lz2 = combo(n, [
    [b13[6], m6],
    [b13[4], m4],
    [b13[2], m2],
  ]);
  const lw = add(add(mm(x6, lw1), mm(m6, w1)), lw2);
  const du = add(mm(x, lw), mm(ex, w));
  const dv = add(add(mm(x6, lz1), mm(m6, z1)), lz2);
  // (V − U) r = V + U  ⇒  (V − U) dr = dU + dV − (dV − dU) r
  let l = luSolve(f, add(add(du, dv), mm(sub(du, dv), r)), n);
  // squaring: (r, l) ← (r², r l + l r)
  for (let i = 0; i < s; i++) {
    l = add(mm(r, l), mm(l, r));
    r = mm(r, r);
  }
  return { exp: r, frechet: l };
};

/**
 * exp(A) [n, n].
 *
 * Returns a Float64Array [n·n], row-major.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { expm } from "@patchbay/causal";
 *
 * const E = expm(Float64Array.of(0, 0, 0, 0), 2);
 * assert.deepEqual([...E], [1, 0, 0, 1]); // exp(0) = I
 * const r = expm(Float64Array.of(0, -Math.PI / 2, Math.PI / 2, 0), 2); // a quarter turn
 * assert.ok(Math.abs(r[1]! + 1) < 1e-12);
 * ```
 */
export const expm = (a: Float64Array, n: number): Float64Array => expmFrechet(a, n).exp;

/**
 * dL/dA [n, n] = L_exp(Aᵀ, G) for L = ⟨G, exp(A)⟩, G [n, n].
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { expm, expmVjp } from "@patchbay/causal";
 *
 * // L = ⟨G, exp(A)⟩: the gradient's first entry against a finite difference
 * const A = Float64Array.of(0.1, 0.2, -0.3, 0.4);
 * const G = Float64Array.of(1, 2, 3, 4);
 * const L = (a: Float64Array) => expm(a, 2).reduce((s, x, i) => s + x * G[i]!, 0);
 * const up = Float64Array.from(A);
 * up[0]! += 1e-6;
 * assert.ok(Math.abs((L(up) - L(A)) / 1e-6 - expmVjp(A, 2, G)[0]!) < 1e-4);
 * ```
 */
export const expmVjp = (a: Float64Array, n: number, g: Float64Array): Float64Array => {
  const at = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) at[j * n + i] = a[i * n + j]!;
  return expmFrechet(at, n, g).frechet!;
};

/**
 * R [k, D] = the first k rows of exp(skew(θ)).
 *
 * Returns R as a Float64Array [k·D], row-major.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { expmRows, orthonormalityError } from "@patchbay/causal";
 *
 * const R = expmRows(Float64Array.of(0.3, -0.1, 0.2, 0.5, 0, 0.4), 4, 2); // θ [D(D−1)/2 = 6]
 * assert.ok(orthonormalityError(R, 2, 4) < 1e-9); // R Rᵀ = I
 * ```
 */
export const expmRows = (theta: Float64Array, d: number, k: number): Float64Array =>
  expm(skewFromParams(theta, d), d).slice(0, k * d);

/**
 * dL/dθ [D(D−1)/2] from dR [k, D]: G = [dR; 0] [D, D], dL/dA = L_exp(Aᵀ, G), then skew's pullback.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { expmRows, expmRowsVjp } from "@patchbay/causal";
 *
 * const theta = Float64Array.of(0.1, -0.2, 0.3);
 * const dR = Float64Array.of(1, 2, 3);
 * const L = (t: Float64Array) => expmRows(t, 3, 1).reduce((s, r, i) => s + r * dR[i]!, 0);
 * const up = Float64Array.from(theta);
 * up[2]! += 1e-6;
 * assert.ok(Math.abs((L(up) - L(theta)) / 1e-6 - expmRowsVjp(theta, 3, 1, dR)[2]!) < 1e-4);
 * ```
 */
export const expmRowsVjp = (theta: Float64Array, d: number, k: number, dR: Float64Array): Float64Array => {
  const g = new Float64Array(d * d);
  g.set(dR.subarray(0, k * d));
  return skewParamsGrad(expmVjp(skewFromParams(theta, d), d, g), d);
};

/**
 * The expm parametrization of R [k, D] (see makeRotation): a Rotation `{ kind, size, rank, nParams, init, matrix, vjp, retract }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { expmRotation, orthonormalityError } from "@patchbay/causal";
 *
 * const rot = expmRotation(4, 2); // R [2, 4]
 * const R = rot.matrix(rot.init(0));
 * assert.equal(R.length, 2 * 4);
 * assert.ok(orthonormalityError(R, 2, 4) < 1e-9); // R Rᵀ = I
 * ```
 */
export const expmRotation = (d: number, k: number, opts: RotationOptions = {}): Rotation => {
  checkShape("expm", d, k);
  const nParams = skewParamCount(d);
  const scale = opts.initScale ?? 1 / Math.sqrt(d);
  return {
    kind: "expm",
    size: d,
    rank: k,
    nParams,
    init: (seed) => gaussian(seed, nParams).map((z) => scale * z),
    matrix: (theta) => {
      checkLength("expm θ", theta, nParams);
      return expmRows(theta, d, k);
    },
    vjp: (theta, dR) => {
      checkLength("expm θ", theta, nParams);
      checkLength("expm dR", dR, k * d);
      return expmRowsVjp(theta, d, k, dR);
    },
    retract: (theta, delta) => {
      checkLength("expm Δ", delta, nParams);
      return theta.map((t, i) => t + delta[i]!);
    },
  };
};
