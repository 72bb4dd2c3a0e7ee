import type { ModelConfig } from "../model/index.ts";

/**
 * A tiny LLaMA-style config (rotary, RMSNorm, SwiGLU; d 16, one layer, 2 heads of 8, vocab 19,
 * context 16) for tests that need a real model but not a particular one; override what matters.
 */
export const tinyRotary = (overrides: Partial<ModelConfig> = {}): ModelConfig => ({
  name: "tiny-rotary",
  family: "zoo",
  dModel: 16,
  nLayers: 1,
  nHeads: 2,
  nKvHeads: 2,
  dHead: 8,
  dMlp: 24,
  gatedMlp: true,
  act: "silu",
  vocabSize: 19,
  nCtx: 16,
  positional: "none",
  rotary: { dim: 8, base: 10000, style: "half" },
  norm: "rmsnorm",
  normEps: 1e-5,
  parallelResidual: false,
  attnScale: 1 / Math.sqrt(8),
  ...overrides,
});
