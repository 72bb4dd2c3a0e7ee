export { acdc, type AcdcOptions, type AcdcResult, connectedToLogits, fedSources, incoming } from "./acdc.ts";
export { downstreamRows, type MaskRows } from "./acdc-rows.ts";
export { eap, eapIgActivations, type EapOptions, type EdgeScores, type IgOptions } from "./attribution.ts";
export { eapIgInputs } from "./eap-ig-inputs.ts";
export { exactScores } from "./exact.ts";
export {
  type AttributionCheck,
  type CircuitEvaluation,
  type Curve,
  checkAttribution,
  type Evaluations,
  evaluateCircuits,
  faithfulnessCurve,
  mibScores,
  sampleEdges,
} from "./evaluation.ts";
export { evaluateMasks, type MaskRun, maskFromEdges } from "./masks.ts";
export {
  type NodeEffects,
  nodePatching,
  nodePositionPatching,
  type PathSpec,
  pathPatching,
  resolveReceivers,
} from "./patching.ts";
export {
  acdcSeedProblem,
  type DiscoveryOptions,
  discoveryProblem,
  igInputsAblationProblem,
} from "./options.ts";
export {
  mergeShards,
  SHARDED_METHODS,
  type ShardMethod,
  type ShardScores,
  type ShardStore,
  scoreShard,
  scoreSharded,
  shardRange,
  shardUnits,
} from "./shards.ts";
export { type EdgeSetup, type EdgeTask, higherIsBetter, prepareEdges, taskReference } from "./setup.ts";
export {
  compareToTruth,
  type Discovered,
  Discovery,
  discover,
  Method,
  Selection,
  type TruthComparison,
} from "./discover.ts";
