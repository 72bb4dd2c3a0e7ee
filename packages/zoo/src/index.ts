/**
 * The model zoo: models with known circuits, compiled by hand (weights constructed, not trained),
 * with their tasks and ground-truth edge sets, for testing circuit discovery.
 */
export {
  INDUCTION_BOS,
  INDUCTION_HEADS,
  type InductionCircuitOptions,
  type InductionCorruption,
  type InductionModelOptions,
  type InductionTask,
  type InductionTaskOptions,
  inductionCircuit,
  inductionModel,
  inductionSubspaces,
  inductionTask,
} from "./induction.ts";
export * from "./registry/index.ts";
export * from "./tasks/index.ts";
export {
  REVERSE_BOS,
  REVERSE_HEADS,
  REVERSE_SEP,
  type ReverseCircuitOptions,
  type ReverseCorruption,
  type ReverseModelOptions,
  type ReverseTaskOptions,
  reverseCircuit,
  reverseModel,
  reverseProgram,
  reverseTask,
} from "./reverse.ts";
export {
  FRAC_BOS,
  FRAC_HEADS,
  FRAC_X,
  type FracPrevsCircuitOptions,
  type FracPrevsModelOptions,
  type FracPrevsTaskOptions,
  fracBin,
  fracPrevsCircuit,
  fracPrevsModel,
  fracPrevsProgram,
  fracPrevsTask,
} from "./frac-prevs.ts";
export {
  type AggregateSpec,
  type Block,
  type Craft,
  type CraftOptions,
  craft,
  type DiscretiseSpec,
} from "./rasp/craft.ts";
// trained zoo models: trainer (Adam on the engine's autodiff), induction / IOI / greater-than, ground truth
export * from "./train/index.ts";
