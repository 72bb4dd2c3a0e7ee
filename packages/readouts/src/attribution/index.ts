export {
  AttentionSpec,
  AttributionMetricKind,
  attentionProblem,
  Baseline,
  DlaSpec,
  dlaProblem,
  InputAttributionSpec,
  inputAttributionProblem,
  InputMethod,
  type AttentionData,
  type DlaData,
  type InputAttributionData,
  type InputExample,
} from "./spec.ts";
export {
  inputAttribution,
  type ExampleAttribution,
  type InputAttributionResult,
} from "./input-attribution.ts";
export { inputSite } from "./input-site.ts";
export {
  gradientNorms,
  gradientTimesInput,
  inputGradient,
  type InputGradient,
} from "./gradient.ts";
export {
  integratedGradients,
  quadrature,
  type IntegratedGradients,
  type Quadrature,
} from "./integrated-gradients.ts";
export { occlusion, type Occlusion } from "./occlusion.ts";
export { directLogitAttribution, type DlaResult, type DlaSlot, type DlaTerms } from "./dla.ts";
export { attentionPatterns, type AttentionExample, type AttentionResult } from "./attention.ts";
export { attentionRollout } from "./rollout.ts";
export {
  AttentionEntropySpec,
  attentionEntropy,
  type AttentionEntropyResult,
  patternEntropy,
  rowEntropy,
} from "./attention-entropy.ts";
