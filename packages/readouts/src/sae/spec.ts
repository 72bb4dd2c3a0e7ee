import { InputError } from "@patchbay/core/errors";
import { Metric, Positions } from "@patchbay/core/engine";
import { Schema } from "effect";
import { asIssue } from "../options.ts";

/**
 * Sparse autoencoders as data: what to capture, how to train, what to report. Decoding a spec
 * fills every default, so an experiment file needs only the site and the dictionary size.
 */

/**
 * "standard": f = ReLU(W_enc(x − b_dec) + b_enc).
 * "gated" (Rajamanoharan et al. 2024): π_gate = W_gate(x − b_dec) + b_gate,
 *   f = 1[π_gate > 0] ⊙ ReLU(W_mag(x − b_dec) + b_mag), W_mag = exp(r_mag) ⊙ W_gate (row-wise).
 * Both decode x̂ = W_dec f + b_dec.
 */
export const SaeArch = Schema.Literal("standard", "gated");
export type SaeArch = typeof SaeArch.Type;

/**
 * How the L1 penalty and the decoder's scale interact (without either, the SAE shrinks f and
 * grows W_dec to dodge the penalty):
 *   "unit"        penalty λ‖f‖₁; decoder columns renormalised to ‖W_dec[:, i]‖ = 1 after every
 *                 step, and the gradient's component along each column removed before the step
 *   "weighted-l1" penalty λ Σ_i f_i ‖W_dec[:, i]‖ (Anthropic's April 2024 update); columns free
 * For the gated SAE the penalised quantity is ReLU(π_gate) in place of f.
 */
export const DecoderNorm = Schema.Literal("unit", "weighted-l1");
export type DecoderNorm = typeof DecoderNorm.Type;

const saeTrainFields = {
  arch: Schema.optionalWith(SaeArch, { default: () => "standard" as const }),
  /** m, the number of features (columns of W_dec). */
  dictSize: Schema.Int.pipe(Schema.positive()),
  /** λ, the sparsity coefficient (in the units of the normalised activations, see `normalize`). */
  l1: Schema.optionalWith(Schema.Number.pipe(Schema.nonNegative()), { default: () => 1 }),
  /** λ ramps linearly from 0 to `l1` over this many steps (0: no ramp). */
  l1Warmup: Schema.optionalWith(Schema.Int.pipe(Schema.nonNegative()), { default: () => 0 }),
  decoderNorm: Schema.optionalWith(DecoderNorm, { default: () => "unit" as const }),
  steps: Schema.optionalWith(Schema.Int.pipe(Schema.positive()), { default: () => 1000 }),
  /** Tokens per Adam step. */
  batchSize: Schema.optionalWith(Schema.Int.pipe(Schema.positive()), { default: () => 256 }),
  lr: Schema.optionalWith(Schema.Number.pipe(Schema.positive()), { default: () => 1e-3 }),
  beta1: Schema.optionalWith(Schema.Number, { default: () => 0.9 }),
  beta2: Schema.optionalWith(Schema.Number, { default: () => 0.999 }),
  seed: Schema.optionalWith(Schema.Int, { default: () => 0 }),
  /**
   * Scale inputs by c so that E‖c·x‖² = d on the training tokens (the SAE stores c and undoes it
   * on decoding): λ then means the same thing at every site and in every model.
   */
  normalize: Schema.optionalWith(Schema.Boolean, { default: () => true }),
  /** Record the training loss this many times over the run (evenly spaced, last step included). */
  logPoints: Schema.optionalWith(Schema.Int.pipe(Schema.positive()), { default: () => 20 }),
};

/**
 * A gated SAE with free decoder norms (its gate's penalty is dodged by shrinking W_dec: L0 grows
 * and the loss diverges; Rajamanoharan et al. keep the columns at unit norm, so do we), and an
 * L1 warmup with no L1 to ramp.
 *
 * Returns an InputError, or null.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { saeTrainProblem } from "@patchbay/readouts";
 *
 * assert.equal(saeTrainProblem({ arch: "gated", decoderNorm: "unit", l1: 1, l1Warmup: 0 }), null);
 * assert.equal(saeTrainProblem({ arch: "gated", decoderNorm: "weighted-l1", l1: 1, l1Warmup: 0 })?.field, "decoderNorm");
 * ```
 */
export const saeTrainProblem = (s: {
  readonly arch: SaeArch;
  readonly decoderNorm: DecoderNorm;
  readonly l1: number;
  readonly l1Warmup: number;
}): InputError | null =>
  s.arch === "gated" && s.decoderNorm !== "unit"
    ? new InputError({
        field: "decoderNorm",
        expected: '"unit" for a gated SAE (decoder columns at unit norm)',
        found: JSON.stringify(s.decoderNorm),
      })
    : s.l1 === 0 && s.l1Warmup > 0
      ? new InputError({
          field: "l1Warmup",
          expected: "no l1Warmup when l1 is 0 (it ramps λ from 0 to l1)",
          found: String(s.l1Warmup),
        })
      : null;

export const SaeTrainSpec = Schema.Struct(saeTrainFields).pipe(
  Schema.filter((s) => asIssue(saeTrainProblem(s))),
);
export type SaeTrainSpec = typeof SaeTrainSpec.Type;

/** Train an SAE on a site's activations over a dataset, evaluate it and splice it into the model. */
export const SaeSpec = Schema.Struct({
  /** A site of shape [batch, pos, …rest]; the SAE sees one flattened vector of size Π rest per token. */
  site: Schema.String,
  /** Which positions of each prompt become SAE tokens (and are spliced). */
  positions: Schema.optionalWith(Positions, { default: () => "all" as const }),
  /** Prompts per engine run when capturing and splicing. */
  chunkSize: Schema.optionalWith(Schema.Int.pipe(Schema.positive()), { default: () => 16 }),
  /** Fraction of prompts held out (seeded split) for evaluation, dead features and splicing. */
  evalFraction: Schema.optionalWith(Schema.Number.pipe(Schema.between(0, 0.9)), { default: () => 0.25 }),
  train: SaeTrainSpec,
  /** Report next-token CE clean / spliced / zero-ablated on the held-out prompts. */
  splice: Schema.optionalWith(Schema.Boolean, { default: () => true }),
});
export type SaeSpec = typeof SaeSpec.Type;

/**
 * Feature-level attribution patching through a trained SAE at its site:
 *   score_i = Σ_{b,p} (f_i(clean) − f_i(corrupted)) · ∂m/∂f_i,   ∂m/∂f_i = W_dec[:, i] · ∂m/∂x
 * with ∂m/∂x the gradient at the spliced site (x̂ + error, the error x − x̂ a fixed node), and a
 * check of the top `check` features against exact patching of that one feature.
 */
export const FeatureAttributionSpec = Schema.Struct({
  positions: Schema.optionalWith(Positions, { default: () => "all" as const }),
  metric: Metric,
  /** How many features to return, ranked by |score|. */
  top: Schema.optionalWith(Schema.Int.pipe(Schema.positive()), { default: () => 20 }),
  /** How many of the top features to patch exactly (one engine run each); 0 skips the check. */
  check: Schema.optionalWith(Schema.Int.pipe(Schema.nonNegative()), { default: () => 8 }),
});
export type FeatureAttributionSpec = typeof FeatureAttributionSpec.Type;

/** A circuit size: a node count, or "all" (every feature and the error node). */
export const CircuitSize = Schema.Union(Schema.Int, Schema.Literal("all"));
export type CircuitSize = typeof CircuitSize.Type;

/** Which circuit to mark `inGraph`: the top n nodes, or the smallest curve size reaching f ≥ faithful. */
export const CircuitSelection = Schema.Union(
  Schema.Struct({ topN: Schema.Int }),
  Schema.Struct({ faithful: Schema.Number }),
);
export type CircuitSelection = typeof CircuitSelection.Type;

/**
 * Node-level sparse feature circuit at an SAE's site (Marks et al. 2024): the nodes are the SAE's
 * features and its error term ε = x − x̂; C = the top-n nodes by |score|; the site is replaced by
 *   x_C = x̂(f_i = clean for i ∈ C, corrupted otherwise) + (ε ∈ C ? ε_clean : ε_corrupted)
 * and the faithfulness is f(C) = (m(C) − m(∅)) / (m(full) − m(∅)).
 */
export const FeatureCircuitSpec = Schema.Struct({
  positions: Schema.optionalWith(Positions, { default: () => "all" as const }),
  metric: Metric,
  /** "attribution": featureAttribution's first-order scores; "exact": m(full) − m(node i corrupted). */
  scores: Schema.optionalWith(Schema.Literal("attribution", "exact"), {
    default: () => "attribution" as const,
  }),
  /** Circuit sizes of the faithfulness curve (sizes above the node count are clipped to it). */
  sizes: Schema.optionalWith(Schema.Array(CircuitSize), {
    default: () => [1, 2, 4, 8, 16, 32, "all" as const],
  }),
  selection: Schema.optionalWith(CircuitSelection, { default: () => ({ faithful: 0.9 }) }),
  /** Circuits per engine run (the prompts are tiled that many times). */
  circuitsPerRun: Schema.optionalWith(Schema.Int.pipe(Schema.positive()), { default: () => 8 }),
});
export type FeatureCircuitSpec = typeof FeatureCircuitSpec.Type;
