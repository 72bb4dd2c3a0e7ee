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
