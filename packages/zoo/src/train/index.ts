/**
 * Trained models (docs/methods.md#known-circuits): a trainer on the engine's autodiff (Adam, weights as graph
 * inputs), three tasks with small transformers, and ground truth by exact edge patching.
 */
export {
  type CurvePoint,
  evaluate,
  sampleExamples,
  type TrainExample,
  type TrainOptions,
  type TrainResult,
  type TrainTask,
  train,
  trainPlan,
} from "./train.ts";
export {
  type CircuitOptions,
  circuitJson,
  type GroundTruth,
  groundTruthCircuit,
  type PatchingTask,
} from "./circuit.ts";
export { saveTransformerLensFolder, transformerLensConfigJson, wordLevelTokenizer } from "./save.ts";
export {
  inductionPatchingTask,
  inductionTrainTask,
  inductionVocab,
  TRAINED_INDUCTION,
  TRAINED_INDUCTION_BOS,
  trainedInductionConfig,
} from "./induction.ts";
export {
  IOI_NAMES,
  IOI_TEMPLATES,
  ioiPatchingTask,
  ioiTrainTask,
  ioiVocab,
  trainedIoiConfig,
} from "./ioi.ts";
export {
  GT_NOUNS,
  greaterThanPatchingTask,
  greaterThanTrainTask,
  greaterThanVocab,
  probabilityDifference,
  trainedGreaterThanConfig,
  yearId,
} from "./greater-than.ts";
export {
  type BuildOptions as TrainedBuildOptions,
  type BuildReport,
  buildTrained,
  TRAINED,
  type TrainedName,
  type TrainedSpec,
} from "./build.ts";
