import { type HostTensor, numel } from "../tensor/index.ts";
import type { ModelConfig } from "./config.ts";
import { type Weights, weightSpecs } from "./weights.ts";

/**
 * Seeded random weights for any ModelConfig, for tests, demos and benchmarks. Deterministic
 * across platforms: a 32-bit PRNG (mulberry32), Box–Muller normals, and per-tensor streams, so a
 * tensor's values depend only on (seed, tensor name), not on which other tensors exist.
 */

/**
 * mulberry32: a tiny 32-bit generator (Tommy Ettinger). Returns uniforms in [0, 1).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mulberry32 } from "@patchbay/core/model";
 *
 * const a = mulberry32(7);
 * const b = mulberry32(7);
 * const u = a();
 * assert.ok(u >= 0 && u < 1);
 * assert.equal(b(), u); // the same seed, the same stream
 * ```
 */
export const mulberry32 = (seed: number): (() => number) => {
  let state = seed | 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

/** FNV-1a hash of a string, to give each tensor its own stream. */
const fnv1a = (s: string): number => {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
};

/**
 * Standard normals by Box–Muller: z = √(−2 ln u₁) · cos(2π u₂), and its sin twin.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { normals } from "@patchbay/core/model";
 *
 * const z = normals(0, 10_000);
 * const mean = z.reduce((s, v) => s + v, 0) / z.length;
 * assert.ok(Math.abs(mean) < 0.05);
 * assert.deepEqual(normals(0, 3), z.subarray(0, 3)); // a prefix of the same seed's stream
 * ```
 */
export const normals = (seed: number, n: number): Float32Array => {
  const uniform = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u1 = 1 - uniform(); // (0, 1]: log is finite
    const u2 = uniform();
    const radius = Math.sqrt(-2 * Math.log(u1));
    out[i] = radius * Math.cos(2 * Math.PI * u2);
    if (i + 1 < n) out[i + 1] = radius * Math.sin(2 * Math.PI * u2);
  }
  return out;
};

export interface RandomWeightsOptions {
  /** Include every optional bias the canonical spec allows (default true). */
  readonly biases?: boolean;
}

/**
 * The standard deviation for a tensor, by its role:
 * - matrices z/√fan_in, fan_in being what each output sums over (H·d_head for W_O), and the
 *   residual writes W_O, W_out a further 1/√(2·n_layers) (GPT-2's init), so that even models
 *   without norms and with gated (quadratic) MLPs keep activations of order 1;
 * - token embeddings z, learned positions 0.5·z;
 * - norm weights 1 + 0.1·z, norm biases and optional biases 0.1·z
 * (z standard normal).
 */
const initFor = (c: ModelConfig, name: string, shape: readonly number[]): { mean: number; std: number } => {
  const leaf = name.slice(name.lastIndexOf(".") + 1);
  if (name === "embed.W_E") return { mean: 0, std: 1 };
  if (name === "pos_embed.W_pos") return { mean: 0, std: 0.5 };
  if (/(ln1|ln2|ln1_post|ln2_post|ln_final)\.w$/.test(name)) return { mean: 1, std: 0.1 };
  if (leaf.startsWith("b")) return { mean: 0, std: 0.1 };
  // writes into the residual stream are scaled down by √(2L), as GPT-2 initialises them
  const residual = leaf === "W_O" || leaf === "W_out" ? 1 / Math.sqrt(2 * c.nLayers) : 1;
  if (leaf === "W_O") return { mean: 0, std: residual / Math.sqrt(c.nHeads * c.dHead) };
  // [in, out] or [heads, in, out]: fan_in is the second-to-last axis
  return { mean: 0, std: residual / Math.sqrt(shape[shape.length - 2]!) };
};

/**
 * Seeded random weights for a config, every canonical tensor (optional biases too unless\n`biases: false`): a tensor's values depend only on (seed, its name).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Model, Weights } from "@patchbay/core";
 * import "@patchbay/zoo";
 *
 * const { config } = Weights.loadModelSync("builtin:induction");
 * const w = Model.randomWeights(config, 1);
 * assert.deepEqual(w.get("embed.W_E")?.shape, [config.vocabSize, config.dModel]);
 * assert.deepEqual(Model.randomWeights(config, 1).get("embed.W_E")?.data, w.get("embed.W_E")?.data);
 * ```
 */
export const randomWeights = (config: ModelConfig, seed: number, opts: RandomWeightsOptions = {}): Weights =>
  new Map(randomWeightEntries(config, seed, opts));

/**
 * `randomWeights`' tensors one at a time (the same values), for consumers that need not hold
 * them all: `Weights.spill(randomWeightEntries(...))` never has more than one on the heap.
 */
export function* randomWeightEntries(
  config: ModelConfig,
  seed: number,
  opts: RandomWeightsOptions = {},
): Generator<readonly [string, HostTensor]> {
  const biases = opts.biases ?? true;
  for (const spec of weightSpecs(config)) {
    if (!spec.required && !biases) continue;
    const { mean, std } = initFor(config, spec.name, spec.shape);
    const data = normals((Math.imul(seed >>> 0, 0x9e3779b1) ^ fnv1a(spec.name)) >>> 0, numel(spec.shape));
    for (let i = 0; i < data.length; i++) data[i] = mean + std * data[i]!;
    yield [spec.name, { data, shape: [...spec.shape] }];
  }
}

/** GPT-2 small's shape (124M parameters), for benchmarks with random weights. */
export const gpt2SmallConfig: ModelConfig = {
  name: "gpt2-small-shaped",
  family: "gpt2",
  dModel: 768,
  nLayers: 12,
  nHeads: 12,
  nKvHeads: 12,
  dHead: 64,
  dMlp: 3072,
  gatedMlp: false,
  act: "gelu_tanh",
  vocabSize: 50257,
  nCtx: 1024,
  positional: "learned",
  rotary: null,
  norm: "layernorm",
  normEps: 1e-5,
  parallelResidual: false,
  attnScale: 1 / 8,
};
