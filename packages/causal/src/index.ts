/**
 * @patchbay/causal — causal abstraction on the engine (docs/methods.md#causal-abstraction): high-level
 * causal models as data, alignments to sites / positions / subspaces, interchange intervention
 * accuracy and MIB-style sweeps, distributed alignment search (plain and boundless) with the
 * illusion controls, and zoo tasks whose mechanisms are known.
 */
export {
  type CausalModel,
  type CausalModelSpec,
  causalModel,
  type Interchange,
  interchange,
  intervene,
  run,
  type Setting,
  type Value,
  type Variable,
} from "./model/causal-model.ts";
export {
  type CounterfactualExample,
  type CounterfactualOptions,
  counterfactuals,
  type Family,
} from "./model/counterfactuals.ts";
export { CausalError } from "./model/errors.ts";
export {
  Alignment,
  isDims,
  isRotation,
  PositionSpec,
  SubspaceSpec,
  VariableAlignment,
} from "./alignment/schema.ts";
export { locate, positionLabel } from "./alignment/locate.ts";
export { type CausalTask, familyOf } from "./task/task.ts";
export { type InterchangeBatch, interchangeBatch, type Rotations } from "./iia/interchange.ts";
export { type IiaOptions, type IiaResult, iia } from "./iia/iia.ts";
export { iiaSweep, mibSummary, type SweepResult, type SweepSpec } from "./iia/sweep.ts";
export {
  type BoundlessOptions,
  type DasOptions,
  type DasResult,
  das,
  type LearnedRotation,
  rotationValues,
} from "./das/train.ts";
export {
  loadRotation,
  ROTATION_FORMAT,
  RotationArtifact,
  rotationArtifact,
  saveRotation,
} from "./das/artifact.ts";
export * from "./das/rotation/index.ts";
export { type DasData, type DasReport, dasWithControls } from "./controls/controls.ts";
export { type InductionCausalOptions, inductionAlignments, inductionCausalTask } from "./zoo/induction.ts";
export { type LinearToyOptions, linearToy } from "./zoo/linear.ts";
export { type ReverseCausalOptions, reverseCausalTask } from "./zoo/reverse.ts";
export { type CausalBuiltin, causalBuiltin, causalBuiltinNames } from "./zoo/registry.ts";
/** core's Model, also exported here for callers that import the causal API from one place. */
export type { Model } from "@patchbay/core/model";
