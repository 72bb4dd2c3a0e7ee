/** SAEs on captured activations: train, evaluate, splice, attribute (docs/methods.md#sparse-autoencoders). */
export {
  CircuitSelection,
  CircuitSize,
  DecoderNorm,
  FeatureAttributionSpec,
  FeatureCircuitSpec,
  SaeArch,
  SaeSpec,
  SaeTrainSpec,
  saeTrainProblem,
} from "./spec.ts";
export { type Sae, type SaeParams, decode, decoderNorms, encode, makeSae } from "./sae.ts";
export {
  initSae,
  lossAndGrads,
  type LossParts,
  type SaeGrads,
  type TrainLogPoint,
  trainSae,
} from "./train.ts";
export { evaluateSae, type SaeEval } from "./metrics.ts";
export { type Activations, captureActivations, positionsFor, saeSite } from "./capture.ts";
export { ceLossRecovered, nextTokenBinding, spliceSae, splicedValue, type SpliceResult } from "./splice.ts";
export {
  type FeatureAttributionData,
  type FeatureAttributionResult,
  type FeatureScore,
  featureAttribution,
  spearman,
} from "./attribution.ts";
export {
  SAE_FORMAT,
  SAE_VERSION,
  SaeArtifact,
  SaeFileError,
  loadSae,
  saeFromArtifact,
  saeToArtifact,
  saveSae,
} from "./artifact.ts";
export { decodeSaeSpec, runSae, type SaeData, type SaeResult, splitPrompts } from "./run.ts";
export { maxCosines, plantedSparse } from "./planted.ts";
export {
  type CircuitNode,
  type CircuitNodeId,
  circuitSizes,
  curveArea,
  type FeatureCircuitResult,
  featureCircuit,
} from "./circuit.ts";
