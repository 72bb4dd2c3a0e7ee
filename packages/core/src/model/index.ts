/**
 * The model contracts: `ModelConfig` (every architecture knob), the canonical weight names and
 * shapes, and seeded random weights. The site catalogue is ../sites.
 */
export type {
  ModelConfig,
  NormKind,
  Activation,
  RotaryStyle,
  RotaryConfig,
  RopeScaling,
  SlidingWindow,
} from "./config.ts";
export { type Model, type Weights, type WeightSpec, weightSpecs } from "./weights.ts";
export { randomWeights, type RandomWeightsOptions, gpt2SmallConfig, mulberry32, normals } from "./random.ts";
