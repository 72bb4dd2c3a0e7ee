export {
  SteeringSpec,
  SteeringData,
  ErasureSpec,
  steeringProblem,
  type SteeringPoint,
  type SteeringResult,
} from "./spec.ts";
export { diffOfMeans, meanActivation, resolveMeanPositions } from "./vector.ts";
export {
  steer,
  sweepVector,
  steeredMetric,
  steeredGreedy,
  targetBinding,
  checkSteeringSite,
} from "./sweep.ts";
export {
  erase,
  erasedFeatures,
  orthonormalize,
  classMeanDirections,
  basisTensor,
  type ErasureResult,
} from "./erasure.ts";
export { happySadData, inductionSteeringData, HAPPY_PROMPTS, HAPPY_TARGETS } from "./examples.ts";
