import { type ModelConfig, mulberry32, randomWeights } from "@patchbay/core/model";
import type { SessionCache } from "@patchbay/core/runtime";
import { makeSessionCache } from "@patchbay/core/runtime";
import { Effect } from "effect";
import { makeSae, type Sae } from "./sae.ts";

/** Small random models of two families for engine tests (llama-style and GPT-2-style). */
export const llamaTiny: ModelConfig = {
  name: "sae-test-llama",
  family: "zoo",
  dModel: 12,
  nLayers: 2,
  nHeads: 2,
  nKvHeads: 1,
  dHead: 6,
  dMlp: 16,
  gatedMlp: true,
  act: "silu",
  vocabSize: 20,
  nCtx: 16,
  positional: "none",
  rotary: { dim: 6, base: 10000, style: "half" },
  norm: "rmsnorm",
  normEps: 1e-5,
  parallelResidual: false,
  attnScale: 1 / Math.sqrt(6),
};

export const gpt2Tiny: ModelConfig = {
  ...llamaTiny,
  name: "sae-test-gpt2",
  nKvHeads: 2,
  gatedMlp: false,
  act: "gelu_tanh",
  positional: "learned",
  rotary: null,
  norm: "layernorm",
};

export const tinyModel = (c: ModelConfig, seed: number) => ({ config: c, weights: randomWeights(c, seed) });

/** n seeded prompts of `len` tokens (equal lengths, so the float64 reference can run them). */
export const randomPrompts = (c: ModelConfig, n: number, len: number, seed: number): number[][] => {
  const u = mulberry32(seed);
  return Array.from({ length: n }, () => Array.from({ length: len }, () => Math.floor(u() * c.vocabSize)));
};

export const withCache = <A, E>(f: (cache: SessionCache) => Effect.Effect<A, E>): Promise<A> =>
  Effect.runPromise(Effect.scoped(Effect.flatMap(makeSessionCache("sae-test"), f)));

/** The "perfect" SAE: m = 2d, encoder [I; −I], decoder [I; −I], zero biases: x̂ = ReLU(x) − ReLU(−x) = x. */
export const identitySae = (site: string, d: number): Sae => {
  const eye = new Float64Array(2 * d * d);
  for (let j = 0; j < d; j++) {
    eye[j * d + j] = 1;
    eye[(d + j) * d + j] = -1;
  }
  return makeSae({
    arch: "standard",
    site,
    d,
    m: 2 * d,
    encoder: eye,
    bEnc: new Float64Array(2 * d),
    decoder: eye,
    bDec: new Float64Array(d),
  });
};
