export { ProbeSpec, ProbeData, probeProblem, type ProbeResult, type ProbeScores } from "./spec.ts";
export {
  probe,
  probeWithFit,
  probeSites,
  fitProbe,
  probeAccuracy,
  probeDirections,
  splitRows,
  flatLabels,
  type TrainedProbe,
  type ProbeFit,
} from "./probe.ts";
export { captureFeatures, checkProbeData, type Features, type CaptureOptions } from "./dataset.ts";
export { controlLabels } from "./control.ts";
export {
  fitSoftmax,
  softmaxLoss,
  predictSoftmax,
  accuracy,
  type SoftmaxModel,
  type FitOptions,
  type FitReport,
} from "./logistic.ts";
export {
  fitStandardizer,
  selectRows,
  splitGroups,
  permutation,
  indexClasses,
  majorityBaseline,
  type Standardizer,
} from "./features.ts";
export { prevTokenData, prevTokenProbe, PREV_TOKEN_SITES } from "./induction.ts";
