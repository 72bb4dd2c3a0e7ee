import fc from "fast-check";
import type { Activation, ModelConfig, NormKind, RopeScaling, RotaryConfig } from "../model/config.ts";

/**
 * fast-check arbitraries for small valid ModelConfigs covering every family's shape: GPT-2
 * (LayerNorm, learned positions, gelu_tanh), LLaMA / llama2.c (RMSNorm, rotary, SwiGLU, GQA),
 * GPT-NeoX (partial rotary, parallel residual, exact gelu), TransformerLens toys (no norm,
 * attention only), Gemma 2 (post-norms with RMSNorm, soft-capped scores and logits, a sliding
 * window on even layers) and Mistral (a window on every layer), and every mixture of those knobs. d_head is drawn apart from d_model, so
 * H·d_head ≠ d_model (an explicit head_dim, as Llama 3.2 and Gemma have) is the common case; the
 * biases of Qwen2 (q/k/v) and GPT-2 come from randomWeights, which fills every optional bias.
 * `ropeScaling: true` adds Llama 3.1's frequency bands or llama.cpp's per-pair divisors.
 */
export interface ArbConfigOptions {
  /** Most layers (default 3). */
  readonly maxLayers?: number;
  /** Force a norm kind. */
  readonly norm?: NormKind;
  /** Force rotary on (true) or off (false). */
  readonly rotary?: boolean;
  /** Force an MLP (true) or attention-only (false). */
  readonly mlp?: boolean;
  /** Force a residual layout. */
  readonly parallelResidual?: boolean;
  /** Force learned positions on or off. */
  readonly learnedPositions?: boolean;
  /** Rescaled rotary frequencies on every rotary config (default: never, so existing seeds draw as before). */
  readonly ropeScaling?: boolean;
  /**
   * Gemma 2's and Mistral's knobs — post-norms, soft-caps, sliding windows — each drawn at random
   * (default true); false for none of them (properties that need logits linear in the stream).
   */
  readonly gemma2Knobs?: boolean;
}

const divisorsOf = (n: number): number[] =>
  Array.from({ length: n }, (_, i) => i + 1).filter((k) => n % k === 0);

const arbRotary = (dHead: number): fc.Arbitrary<RotaryConfig> =>
  fc.record({
    // r: even, 2 … d_head
    dim: fc.integer({ min: 1, max: dHead / 2 }).map((k) => 2 * k),
    base: fc.constantFrom(10, 100, 10000),
    style: fc.constantFrom("half" as const, "interleaved" as const),
  });

/**
 * Rope scaling for a rotary config. With bases 10 … 10000 the wavelengths 2π·base^(2i/r) run
 * from 6.3 to ~6300, so original contexts of 4 … 512 put pairs in every band.
 */
const arbRopeScaling = (dim: number): fc.Arbitrary<RopeScaling> =>
  fc.oneof(
    fc.record({
      kind: fc.constant("llama3" as const),
      factor: fc.constantFrom(2, 8, 32),
      lowFreqFactor: fc.constantFrom(0.5, 1, 2),
      highFreqFactor: fc.constantFrom(4, 8),
      originalContext: fc.integer({ min: 4, max: 512 }),
    }),
    fc.record({
      kind: fc.constant("divisors" as const),
      divisors: fc.array(
        fc.integer({ min: 1, max: 40 }).map((k) => k / 4),
        { minLength: dim / 2, maxLength: dim / 2 },
      ),
    }),
  );

export const arbConfig = (opts: ArbConfigOptions = {}): fc.Arbitrary<ModelConfig> =>
  fc
    .record({
      nLayers: fc.integer({ min: 1, max: opts.maxLayers ?? 3 }),
      nHeads: fc.integer({ min: 1, max: 4 }),
      dHead: fc.integer({ min: 1, max: 4 }).map((k) => 2 * k), // even, 2 … 8
      dModel: fc.integer({ min: 4, max: 24 }),
      dMlp:
        opts.mlp === undefined
          ? fc.option(fc.integer({ min: 4, max: 32 }), { freq: 4 })
          : opts.mlp
            ? fc.integer({ min: 4, max: 32 })
            : fc.constant(null),
      gatedMlp: fc.boolean(),
      act: fc.constantFrom<Activation>("gelu_tanh", "gelu", "relu", "silu"),
      norm:
        opts.norm === undefined
          ? fc.constantFrom<NormKind>("layernorm", "rmsnorm", "none")
          : fc.constant(opts.norm),
      normEps: fc.constantFrom(1e-5, 1e-6),
      hasRotary: opts.rotary === undefined ? fc.boolean() : fc.constant(opts.rotary),
      learned: opts.learnedPositions === undefined ? fc.boolean() : fc.constant(opts.learnedPositions),
      parallelResidual:
        opts.parallelResidual === undefined ? fc.boolean() : fc.constant(opts.parallelResidual),
      vocabSize: fc.integer({ min: 5, max: 40 }),
      nCtx: fc.integer({ min: 8, max: 16 }),
      postNorms: opts.gemma2Knobs === false ? fc.constant(false) : fc.boolean(),
      // small caps bite: scores and logits of random models are O(1)
      attnSoftcap:
        opts.gemma2Knobs === false ? fc.constant(null) : fc.option(fc.constantFrom(0.5, 2, 5), { freq: 2 }),
      finalSoftcap:
        opts.gemma2Knobs === false ? fc.constant(null) : fc.option(fc.constantFrom(1, 3), { freq: 2 }),
      slidingWindow:
        opts.gemma2Knobs === false
          ? fc.constant(null)
          : fc.option(
              fc.record({
                size: fc.integer({ min: 1, max: 5 }),
                layers: fc.constantFrom("all" as const, "even" as const),
              }),
              { freq: 2 },
            ),
    })
    .chain((k) =>
      fc
        .record({
          nKvHeads: fc.constantFrom(...divisorsOf(k.nHeads)),
          rotary: !k.hasRotary
            ? fc.constant(null)
            : opts.ropeScaling
              ? arbRotary(k.dHead).chain((r) => arbRopeScaling(r.dim).map((scaling) => ({ ...r, scaling })))
              : arbRotary(k.dHead),
        })
        .map(
          ({ nKvHeads, rotary }): ModelConfig => ({
            name: `arb-L${k.nLayers}-H${k.nHeads}/${nKvHeads}x${k.dHead}-d${k.dModel}-${k.norm}`,
            family: "zoo",
            dModel: k.dModel,
            nLayers: k.nLayers,
            nHeads: k.nHeads,
            nKvHeads,
            dHead: k.dHead,
            dMlp: k.dMlp,
            gatedMlp: k.dMlp !== null && k.gatedMlp,
            act: k.act,
            vocabSize: k.vocabSize,
            nCtx: k.nCtx,
            positional: k.learned ? "learned" : "none",
            rotary,
            norm: k.norm,
            normEps: k.normEps,
            parallelResidual: k.parallelResidual,
            attnScale: 1 / Math.sqrt(k.dHead),
            // post-norms split over heads for RMSNorm only (checkConfig)
            ...(k.postNorms && k.norm === "rmsnorm" ? { postNorms: true } : {}),
            ...(k.attnSoftcap !== null ? { attnSoftcap: k.attnSoftcap } : {}),
            ...(k.finalSoftcap !== null ? { finalSoftcap: k.finalSoftcap } : {}),
            ...(k.slidingWindow !== null ? { slidingWindow: k.slidingWindow } : {}),
          }),
        ),
    );

/** Token ids for a config: a batch of `batch` equal-length sequences of 1 … nCtx tokens. */
export const arbIds = (c: ModelConfig, opts: { maxBatch?: number; minLength?: number } = {}) =>
  fc.integer({ min: opts.minLength ?? 1, max: c.nCtx }).chain((len) =>
    fc.array(fc.array(fc.integer({ min: 0, max: c.vocabSize - 1 }), { minLength: len, maxLength: len }), {
      minLength: 1,
      maxLength: opts.maxBatch ?? 2,
    }),
  );
