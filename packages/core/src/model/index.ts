export type { ModelConfig, NormKind, Activation, RotaryStyle, RotaryConfig } from "./config.ts";
export { groupSize } from "./config.ts";
export { type Model, type Weights, type WeightSpec, weightSpecs } from "./weights.ts";
export { type SiteInfo, type SiteLookup, siteCatalog, siteShape, dimSizes, lookupSite } from "./sites.ts";
export { randomWeights, type RandomWeightsOptions, gpt2SmallConfig, mulberry32, normals } from "./random.ts";
