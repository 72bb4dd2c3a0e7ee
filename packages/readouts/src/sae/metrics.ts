import { InputError } from "@patchbay/core/errors";
import { decodeInto, encodeInto, type Sae } from "./sae.ts";

/**
 * Reconstruction and sparsity of an SAE on tokens x [n, d] (site units), in float64:
 *   mse   = (1/(n·d)) Σ_t ‖x_t − x̂_t‖²                     per element, site units
 *   fvu   = Σ_t ‖x_t − x̂_t‖² / Σ_t ‖x_t − x̄‖²             fraction of variance unexplained
 *           (x̄ the mean over these tokens; 0 perfect, 1 as good as predicting x̄)
 *   l0    = (1/n) Σ_t #{i : f_i(x_t) > 0}                   mean active features per token
 *   l1    = (1/n) Σ_t Σ_i f_i(x_t)                          in the SAE's (normalised) units
 *   dead  = #{i : f_i(x_t) = 0 for every t}                 never active on these tokens
 */
export interface SaeEval {
  readonly tokens: number;
  readonly mse: number;
  readonly fvu: number;
  readonly l0: number;
  readonly l1: number;
  readonly dead: number;
  readonly deadFraction: number;
  /** Per feature: the fraction of tokens on which it is active. */
  readonly frequency: number[];
}

/**
 * Reconstruction and sparsity of an SAE on tokens x [n, d]: `{ tokens, mse, fvu, l0, l1, dead, deadFraction, … }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { evaluateSae, makeSae } from "@patchbay/readouts";
 * // the identity dictionary in d = 2: f = ReLU(x), x̂ = f
 * const sae = makeSae({ arch: "standard", site: "blocks.0.resid_post", d: 2, m: 2, encoder: [1, 0, 0, 1], bEnc: [0, 0], decoder: [1, 0, 0, 1], bDec: [0, 0] });
 * const e = evaluateSae(sae, [1, 2, 3, 4], 2); // positive tokens: reconstructed exactly
 * assert.equal(e.tokens, 2);
 * assert.equal(e.mse, 0);
 * assert.equal(e.l0, 2); // both features fire on every token
 * ```
 */
export const evaluateSae = (sae: Sae, x: ArrayLike<number>, n: number): SaeEval => {
  const { d, m } = sae;
  if (n === 0) throw new InputError({ field: "activations", expected: "at least one token", found: "none" });
  if (x.length !== n * d)
    throw new InputError({
      field: "activations",
      expected: `${n * d} values ([${n}, ${d}])`,
      found: `${x.length}`,
    });
  const mean = new Float64Array(d);
  for (let t = 0; t < n; t++) for (let j = 0; j < d; j++) mean[j]! += x[t * d + j]! / n;
  const f = new Float64Array(m);
  const xh = new Float64Array(d);
  const count = new Float64Array(m);
  let sse = 0;
  let sst = 0;
  let l0 = 0;
  let l1 = 0;
  for (let t = 0; t < n; t++) {
    encodeInto(sae, x, t * d, f);
    decodeInto(sae, f, xh);
    for (let j = 0; j < d; j++) {
      const v = x[t * d + j]!;
      sse += (v - xh[j]!) ** 2;
      sst += (v - mean[j]!) ** 2;
    }
    for (let i = 0; i < m; i++)
      if (f[i]! > 0) {
        l0 += 1;
        l1 += f[i]!;
        count[i]! += 1;
      }
  }
  if (!Number.isFinite(sse))
    throw new InputError({ field: "sae", expected: "finite reconstructions", found: `squared error ${sse}` });
  const dead = count.reduce((k, c) => k + (c === 0 ? 1 : 0), 0);
  return {
    tokens: n,
    mse: sse / (n * d),
    // Constant activations have no variance to explain: FVU is 0 if they are reconstructed, else ∞ is
    // not JSON; report 1 (nothing explained) in that degenerate case.
    fvu: sst > 0 ? sse / sst : sse === 0 ? 0 : 1,
    l0: l0 / n,
    l1: l1 / n,
    dead,
    deadFraction: dead / m,
    frequency: Array.from(count, (c) => c / n),
  };
};
