export {
  LensEvalSpec,
  TunedLensTrainSpec,
  decodeLensEvalSpec,
  decodeTunedLensTrainSpec,
  tunedLensProblem,
} from "./spec.ts";
export { defaultLensSites, finalSite, resolveLensSites } from "./sites.ts";
export {
  type Captured,
  captureResidual,
  decodePlan,
  decodeResidual,
  type LensModel,
} from "./decode.ts";
export {
  applyTranslator,
  identityTranslator,
  type Translator,
  type TunedLens,
  translatorGrads,
} from "./translator.ts";
export { type TunedLensCurvePoint, type TunedLensFit, trainTunedLens, tunedLensGradient } from "./train.ts";
export {
  evaluateLens,
  type LensCell,
  type LensLogits,
  type LensReport,
  type LensRow,
  lensLogits,
  type TopToken,
} from "./evaluate.ts";
export {
  checkTunedLens,
  loadTunedLens,
  saveTunedLens,
  TUNED_LENS_FORMAT,
  TunedLensArtifact,
  tunedLensArtifact,
} from "./artifact.ts";
export { klLogits, logSoftmax, topK } from "./numeric.ts";
