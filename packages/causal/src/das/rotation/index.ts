/**
 * The numeric rotation layer of Distributed Alignment Search: orthogonal parametrizations
 * (Cayley, Householder, matrix exponential, Stiefel retraction) behind one Rotation interface,
 * the Haar-random control, the Boundless DAS mask, and principal angles for checking recovery.
 */
export {
  type Rotation,
  type RotationKind,
  type RotationOptions,
  makeRotation,
  rotationKinds,
} from "./rotation.ts";
export { cayleyRotation, cayleyRows, cayleyVjp } from "./cayley.ts";
export { householderRotation, householderRows, householderVjp } from "./householder.ts";
export { expm, expmFrechet, expmVjp, expmRotation, expmRows, expmRowsVjp } from "./expm.ts";
export {
  type StiefelRetraction,
  retractPolar,
  retractQR,
  stiefelProject,
  stiefelRotation,
} from "./stiefel.ts";
export { skewFromParams, skewParamCount, skewParamsGrad } from "./skew.ts";
export { randomRotation } from "./random.ts";
export {
  boundlessMask,
  boundlessMaskVjp,
  type MaskBounds,
  subspaceSize,
  temperature,
  type TemperatureSchedule,
} from "./boundless.ts";
export { type PrincipalAngles, principalAngles, subspaceOverlap } from "./principal-angles.ts";
export { orthonormalityError } from "./matrix.ts";
export { orthonormalizeRows, RankDeficient } from "./gram-schmidt.ts";
export { SingularMatrix } from "./lu.ts";
