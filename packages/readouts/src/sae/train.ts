import { adamInit as coreAdamInit, type AdamState, adamStepInPlace } from "@patchbay/core/optim";
import { InputError } from "@patchbay/core/errors";
import { mulberry32, normals } from "@patchbay/core/model";
import { cloneSae, decoderNorms, type Sae } from "./sae.ts";
import { type SaeTrainSpec, saeTrainProblem } from "./spec.ts";

/**
 * Training an SAE on host activations: hand-derived gradients of the losses below, float64 Adam,
 * seeded batches. Deterministic given spec.seed (mulberry32, fixed summation order).
 *
 * All of it works in the normalised units x̃ = c·x (c = sae.inputScale). With u = x̃ − b_dec:
 *
 * standard   z = W_enc u + b_enc, f = ReLU(z), x̂ = W_dec f + b_dec
 *            L = ‖x̃ − x̂‖² + λ Σ_i f_i·n_i
 * gated      π_g = W_gate u + b_gate, π_m = exp(r_mag) ⊙ (W_gate u) + b_mag
 *            f = 1[π_g > 0] ⊙ ReLU(π_m),  x̂ = W_dec f + b_dec
 *            L = ‖x̃ − x̂‖² + λ Σ_i ReLU(π_g,i)·n_i + ‖x̃ − (W̄_dec ReLU(π_g) + b̄_dec)‖²
 *            (W̄, b̄: the decoder frozen — no gradient — in the auxiliary term, which is what
 *            trains the gate: the Heaviside passes no gradient, so the gate learns from the
 *            auxiliary reconstruction and the sparsity penalty alone)
 * where n_i = 1 ("unit": columns renormalised after each step) or ‖W_dec[:, i]‖ ("weighted-l1").
 * Every loss is the mean over the batch's tokens.
 */

/** Gradients of the batch loss, one per parameter tensor of the SAE (same shapes). */
export interface SaeGrads {
  readonly encoder: Float64Array;
  readonly bEnc: Float64Array;
  readonly rMag: Float64Array | null;
  readonly bMag: Float64Array | null;
  readonly decoder: Float64Array;
  readonly bDec: Float64Array;
}

export interface LossParts {
  /** Total L (mean over tokens). */
  readonly loss: number;
  /** Mean ‖x̃ − x̂‖². */
  readonly recon: number;
  /** Mean λ-free sparsity term Σ f_i n_i (standard) or Σ ReLU(π_g,i) n_i (gated). */
  readonly sparsity: number;
  /** Gated only: mean auxiliary reconstruction through the gate (0 for standard). */
  readonly aux: number;
  /** Mean number of active features per token. */
  readonly l0: number;
}

/**
 * L and ∂L/∂θ on a batch of normalised tokens xt [B, d] (already multiplied by c).
 * The backward pass touches only active features (z_i > 0, or open gates), so it costs O(B·m·d)
 * for the encoder and O(B·L0·d) for the rest.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lossAndGrads, makeSae } from "@patchbay/readouts";
 * const sae = makeSae({ arch: "standard", site: "x", d: 1, m: 1, encoder: [1], bEnc: [0], decoder: [1], bDec: [0] });
 * assert.equal(lossAndGrads(sae, Float64Array.of(2), 1, 0.5).parts.recon, 0); // the identity reconstructs x exactly
 * ```
 */
export const lossAndGrads = (
  sae: Sae,
  xt: Float64Array,
  B: number,
  lambda: number,
): { parts: LossParts; grads: SaeGrads } => {
  const { d, m, encoder, decoder, bDec } = sae;
  const gated = sae.arch === "gated";
  const weighted = sae.decoderNorm === "weighted-l1";
  const norms = weighted ? decoderNorms(sae) : null;
  const g: SaeGrads = {
    encoder: new Float64Array(m * d),
    bEnc: new Float64Array(m),
    rMag: gated ? new Float64Array(m) : null,
    bMag: gated ? new Float64Array(m) : null,
    decoder: new Float64Array(m * d),
    bDec: new Float64Array(d),
  };
  const u = new Float64Array(d); //        [d] x̃ − b_dec
  const a = new Float64Array(m); //        [m] W u (pre-bias)
  const f = new Float64Array(m); //        [m] features
  const pg = new Float64Array(m); //       [m] gated: π_gate
  const r = new Float64Array(d); //        [d] x̂ − x̃
  const ra = new Float64Array(d); //       [d] gated: x̂_aux − x̃
  const gu = new Float64Array(d); //       [d] ∂L/∂u
  const act: number[] = [];
  let recon = 0;
  let sparsity = 0;
  let aux = 0;
  let l0 = 0;
  const inv = 1 / B;
  for (let t = 0; t < B; t++) {
    const off = t * d;
    for (let j = 0; j < d; j++) u[j] = xt[off + j]! - bDec[j]!;
    act.length = 0;
    for (let i = 0; i < m; i++) {
      let s = 0;
      const row = i * d;
      for (let j = 0; j < d; j++) s += encoder[row + j]! * u[j]!;
      a[i] = s;
      if (!gated) {
        const z = s + sae.bEnc[i]!;
        f[i] = Math.max(z, 0);
        if (z > 0) act.push(i);
      } else {
        const gate = s + sae.bEnc[i]!;
        pg[i] = gate;
        if (gate > 0) {
          act.push(i); // open gates: the set every gated gradient lives on
          const mag = Math.exp(sae.rMag![i]!) * s + sae.bMag![i]!;
          f[i] = Math.max(mag, 0);
        } else f[i] = 0;
      }
    }
    // r = x̂ − x̃ and, gated, ra = x̂_aux − x̃ (x̂_aux = W_dec ReLU(π_g) + b_dec)
    for (let j = 0; j < d; j++) {
      r[j] = bDec[j]! - xt[off + j]!;
      ra[j] = r[j]!;
    }
    for (const i of act) {
      const row = i * d;
      const fi = f[i]!;
      if (fi !== 0) for (let j = 0; j < d; j++) r[j]! += fi * decoder[row + j]!;
      if (gated) {
        const p = pg[i]!;
        for (let j = 0; j < d; j++) ra[j]! += p * decoder[row + j]!;
      }
    }
    let rr = 0;
    for (let j = 0; j < d; j++) rr += r[j]! * r[j]!;
    recon += rr;
    if (gated) {
      let s = 0;
      for (let j = 0; j < d; j++) s += ra[j]! * ra[j]!;
      aux += s;
    }
    gu.fill(0);
    for (const i of act) {
      const row = i * d;
      const n = norms !== null ? norms[i]! : 1;
      const fi = f[i]!;
      let dr = 0; //                                                   W_dec[:, i] · r
      for (let j = 0; j < d; j++) dr += decoder[row + j]! * r[j]!;
      if (fi !== 0) {
        l0 += 1;
        // ∂‖r‖²/∂W_dec[:, i] = 2 f_i r
        for (let j = 0; j < d; j++) g.decoder[row + j]! += 2 * fi * r[j]! * inv;
      }
      let ga: number; //                                                ∂L/∂a_i
      if (!gated) {
        // ∂L/∂z_i = 2 W_dec[:, i]·r + λ n_i  (z_i > 0 here)
        const gz = 2 * dr + lambda * n;
        sparsity += fi * n;
        if (norms !== null) {
          // ∂(λ f_i ‖W_dec[:, i]‖)/∂W_dec[:, i] = λ f_i W_dec[:, i] / ‖W_dec[:, i]‖
          const k = n > 0 ? (lambda * fi) / n : 0;
          for (let j = 0; j < d; j++) g.decoder[row + j]! += k * decoder[row + j]! * inv;
        }
        g.bEnc[i]! += gz * inv;
        ga = gz;
      } else {
        const p = pg[i]!;
        const e = Math.exp(sae.rMag![i]!);
        // magnitude path: ∂L/∂π_m,i = 2 W_dec[:, i]·r where π_m,i > 0 (gate open here)
        const gm = fi > 0 ? 2 * dr : 0;
        // gate path: sparsity λ n_i and the auxiliary term 2 W̄_dec[:, i]·ra
        let dra = 0;
        for (let j = 0; j < d; j++) dra += decoder[row + j]! * ra[j]!;
        const gpg = lambda * n + 2 * dra;
        sparsity += p * n;
        if (norms !== null) {
          const k = n > 0 ? (lambda * p) / n : 0;
          for (let j = 0; j < d; j++) g.decoder[row + j]! += k * decoder[row + j]! * inv;
        }
        g.bEnc[i]! += gpg * inv;
        g.bMag![i]! += gm * inv;
        g.rMag![i]! += gm * e * a[i]! * inv; //                        ∂π_m/∂r_mag = e^r a
        ga = gpg + gm * e; //                                           a feeds both paths
      }
      const row2 = i * d;
      for (let j = 0; j < d; j++) {
        g.encoder[row2 + j]! += ga * u[j]! * inv;
        gu[j]! += ga * encoder[row2 + j]!;
      }
    }
    // b_dec: +2r through x̂ (frozen in the auxiliary term), −∂L/∂u through u = x̃ − b_dec
    for (let j = 0; j < d; j++) g.bDec[j]! += (2 * r[j]! - gu[j]!) * inv;
  }
  const parts: LossParts = {
    loss: (recon + lambda * sparsity + aux) * inv,
    recon: recon * inv,
    sparsity: sparsity * inv,
    aux: aux * inv,
    l0: l0 * inv,
  };
  return { parts, grads: g };
};

/** Parameter tensors of an SAE by name, in a fixed order (Adam's state follows it). */
const paramNames = ["encoder", "bEnc", "rMag", "bMag", "decoder", "bDec"] as const;
type ParamName = (typeof paramNames)[number];
const paramsOf = (s: Sae | SaeGrads): [ParamName, Float64Array][] =>
  paramNames.flatMap((n) => (s[n] !== null ? [[n, s[n]] as [ParamName, Float64Array]] : []));

/** Float64 Adam on the SAE's arrays, in place (core's optim; lr multiplies the moment, as it always did here). */
const adamInit = (s: Sae): AdamState => coreAdamInit(new Map(paramsOf(s).map(([n, p]) => [n, { data: p }])));
const adamUpdate = (s: Sae, g: SaeGrads, st: AdamState, lr: number, b1: number, b2: number): AdamState =>
  adamStepInPlace(new Map(paramsOf(s)), new Map(paramsOf(g)), st, {
    lr,
    beta1: b1,
    beta2: b2,
    lrAt: "moment",
  });

/** Unit-norm decoder: remove each column gradient's component along the column (it would only change the norm). */
const projectDecoderGrad = (s: Sae, g: SaeGrads): void => {
  for (let i = 0; i < s.m; i++) {
    const row = i * s.d;
    let dot = 0;
    for (let j = 0; j < s.d; j++) dot += g.decoder[row + j]! * s.decoder[row + j]!;
    for (let j = 0; j < s.d; j++) g.decoder[row + j]! -= dot * s.decoder[row + j]!;
  }
};

export const normaliseDecoder = (s: Sae): void => {
  for (let i = 0; i < s.m; i++) {
    const row = i * s.d;
    let n = 0;
    for (let j = 0; j < s.d; j++) n += s.decoder[row + j]! ** 2;
    n = Math.sqrt(n);
    if (n > 0) for (let j = 0; j < s.d; j++) s.decoder[row + j]! /= n;
  }
};

/**
 * c with E‖c·x‖² = d over the tokens (1 if the activations are all zero).
 * x: [n, d].
 */
export const normalisingScale = (x: ArrayLike<number>, n: number, d: number): number => {
  let s = 0;
  for (let k = 0; k < n * d; k++) s += x[k]! * x[k]!;
  const ms = s / n;
  return ms > 0 ? Math.sqrt(d / ms) : 1;
};

/**
 * Initial SAE: decoder columns random unit vectors (seeded normals), encoder rows equal to them
 * (W_enc = W_decᵀ, so every feature starts reading its own direction), b_enc = b_gate = b_mag =
 * r_mag = 0, and b_dec the mean of the normalised training tokens.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initSae, SaeTrainSpec } from "@patchbay/readouts";
 * import { Schema } from "effect";
 * const sae = initSae("blocks.0.resid_post", [1, 0, 0, 1], 2, 2, Schema.decodeUnknownSync(SaeTrainSpec)({ dictSize: 4 }));
 * assert.deepEqual([...sae.encoder], [...sae.decoder]); // W_enc = W_decᵀ: each feature reads its own direction
 * ```
 */
export const initSae = (
  site: string,
  x: ArrayLike<number>,
  n: number,
  d: number,
  spec: SaeTrainSpec,
): Sae => {
  const m = spec.dictSize;
  const c = spec.normalize ? normalisingScale(x, n, d) : 1;
  const z = normals(spec.seed, m * d);
  const decoder = Float64Array.from(z);
  const bDec = new Float64Array(d);
  for (let t = 0; t < n; t++) for (let j = 0; j < d; j++) bDec[j]! += (c * x[t * d + j]!) / n;
  const gated = spec.arch === "gated";
  const sae: Sae = {
    arch: spec.arch,
    site,
    d,
    m,
    inputScale: c,
    decoderNorm: spec.decoderNorm,
    encoder: new Float64Array(m * d),
    bEnc: new Float64Array(m),
    rMag: gated ? new Float64Array(m) : null,
    bMag: gated ? new Float64Array(m) : null,
    decoder,
    bDec,
  };
  normaliseDecoder(sae);
  sae.encoder.set(sae.decoder);
  return sae;
};

export interface TrainLogPoint {
  readonly step: number;
  readonly loss: number;
  readonly recon: number;
  readonly sparsity: number;
  readonly aux: number;
  readonly l0: number;
}

/** The spec's architecture, size, decoder norm and normalisation where `init` fixes them (unread). */
const initProblem = (spec: SaeTrainSpec, init: Sae): InputError | null => {
  const fixed = [
    ["arch", spec.arch, init.arch],
    ["dictSize", spec.dictSize, init.m],
    ["decoderNorm", spec.decoderNorm, init.decoderNorm],
  ] as const;
  for (const [field, given, has] of fixed)
    if (given !== has)
      return new InputError({
        field,
        expected: `${JSON.stringify(has)}, the init SAE's (init fixes it)`,
        found: JSON.stringify(given),
      });
  return spec.normalize
    ? null
    : new InputError({
        field: "normalize",
        expected: "true (the default) with init, whose input scale is kept",
        found: "false",
      });
};

/**
 * Train an SAE on tokens x [n, d] (site units). Each step draws `batchSize` tokens from a seeded
 * shuffle of all n (reshuffled each epoch), takes one Adam step on L, and in "unit" mode
 * renormalises the decoder columns. `init` replaces the seeded initialisation (it is copied).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { plantedSparse, SaeTrainSpec, trainSae } from "@patchbay/readouts";
 * import { Schema } from "effect";
 * const spec = Schema.decodeUnknownSync(SaeTrainSpec)({ dictSize: 8, steps: 50, batchSize: 32, l1: 0.1 });
 * const { history } = trainSae("blocks.0.resid_post", plantedSparse({ d: 8, k: 4, n: 256, p: 0.2, seed: 0 }).data, 256, 8, spec);
 * assert.ok(history.at(-1)!.loss < history[0]!.loss); // trainSae returns { sae, history }
 * ```
 */
export const trainSae = (
  site: string,
  x: ArrayLike<number>,
  n: number,
  d: number,
  spec: SaeTrainSpec,
  init?: Sae,
): { sae: Sae; history: TrainLogPoint[] } => {
  if (n === 0) throw new InputError({ field: "activations", expected: "at least one token", found: "none" });
  if (x.length !== n * d)
    throw new InputError({
      field: "activations",
      expected: `${n * d} values ([${n}, ${d}])`,
      found: `${x.length}`,
    });
  for (let k = 0; k < x.length; k++)
    if (!Number.isFinite(x[k]!))
      throw new InputError({
        field: `activations[${Math.floor(k / d)}][${k % d}]`,
        expected: "a finite number",
        found: String(x[k]),
      });
  const refused = saeTrainProblem(spec) ?? (init !== undefined ? initProblem(spec, init) : null);
  if (refused !== null) throw refused;
  const sae = init !== undefined ? cloneSae(init) : initSae(site, x, n, d, spec);
  if (sae.d !== d)
    throw new InputError({ field: "init.d", expected: `the activations' size ${d}`, found: String(sae.d) });
  const c = sae.inputScale;
  const rng = mulberry32(spec.seed ^ 0x5ae5ae);
  const order = Array.from({ length: n }, (_, k) => k);
  let cursor = n;
  const B = spec.batchSize;
  const xt = new Float64Array(B * d);
  let st = adamInit(sae);
  const every = Math.max(1, Math.floor(spec.steps / spec.logPoints));
  const history: TrainLogPoint[] = [];
  for (let step = 1; step <= spec.steps; step++) {
    for (let b = 0; b < B; b++) {
      if (cursor >= n) {
        for (let k = n - 1; k > 0; k--) {
          const j = Math.floor(rng() * (k + 1));
          [order[k], order[j]] = [order[j]!, order[k]!];
        }
        cursor = 0;
      }
      const t = order[cursor++]!;
      for (let j = 0; j < d; j++) xt[b * d + j] = c * x[t * d + j]!;
    }
    const lambda = spec.l1Warmup > 0 ? spec.l1 * Math.min(1, step / spec.l1Warmup) : spec.l1;
    const { parts, grads } = lossAndGrads(sae, xt, B, lambda);
    if (!Number.isFinite(parts.loss))
      throw new InputError({
        field: "train.lr",
        expected: "a learning rate for which the SAE loss stays finite",
        found: `loss ${parts.loss} at step ${step} (lr ${spec.lr})`,
      });
    if (step % every === 0 || step === spec.steps || step === 1) history.push({ step, ...parts });
    if (sae.decoderNorm === "unit") projectDecoderGrad(sae, grads);
    st = adamUpdate(sae, grads, st, spec.lr, spec.beta1, spec.beta2);
    if (sae.decoderNorm === "unit") normaliseDecoder(sae);
  }
  return { sae, history };
};
