/**
 * @patchbay/experiments — experiment files (YAML / JSON, an effect Schema), sweeps over any field,
 * a content-addressed results store with run manifests, resumable runs, and analysis tables
 * (JSONL, Arrow). Every CLI command (`validate`, `run`, `ls`) is one of these functions.
 */
export type { CellResult, ReadoutCellResult, ReadoutOutput } from "./kinds/index.ts";
export { type AnyKind, type CellSpec, KINDS, kindNamed, kindOfResult, kindOfSpec } from "./kinds/index.ts";
export type { CellFile, CellRun, ExperimentKind, KindReport, SummaryCell } from "./kinds/kind.ts";
export type { ReadoutFigures } from "./kinds/readout/figures.ts";
export { readoutFigures } from "./kinds/readout/methods/lookup.ts";
export {
  type MethodRun,
  type ReadoutMethod as ReadoutMethodDefinition,
  readoutMethod,
} from "./kinds/readout/method.ts";
export { READOUT_METHODS } from "./kinds/readout/methods/index.ts";
export { topDlaComponent } from "./kinds/readout/methods/attribution.ts";
export { NeuronModels } from "./kinds/readout/methods/neurons.ts";
export { cellEnvelope, type KindName } from "./results/envelope.ts";
export type { ColumnSpec, ColumnType, TableKind } from "./results/table-columns.ts";
export { type ReadoutCellInput, readoutIdentity, runReadoutCell } from "./kinds/readout/cell.ts";
export {
  type ReadoutCell,
  type ReadoutCellData,
  ReadoutData,
  ReadoutExampleData,
  ReadoutTaskData,
  ReadoutTextData,
} from "./kinds/readout/data-form.ts";
export { type ReadoutCellSpec, ReadoutMethod } from "./kinds/readout/spec.ts";
export {
  type CellIdentity,
  type CellInput,
  type CellOutcome,
  cellIdentity,
  runCell,
  runCellJob,
  runCellToStore,
} from "./run/cell.ts";
export {
  listRuns,
  machineInfo,
  type PlannedCell,
  planCells,
  type RunEvent,
  type RunFailure,
  type RunListing,
  type RunManifest,
  type RunOptions,
  type RunSummary,
  resolveResultsDir,
  resultsDirOf,
  runExperiment,
  runIdOf,
  versionInfo,
} from "./run/experiment.ts";
export {
  canonicalJson,
  cellIdOf,
  datasetHash,
  onnxruntimeVersion,
  patchbayVersion,
  sha256,
  weightsHash,
} from "./run/hash.ts";
export {
  cellPath,
  cellsDir,
  formatCellResult,
  hasCell,
  makeFolder,
  readCellResult,
  removeStaleTemps,
  runDir,
  writeAtomic,
} from "./run/store.ts";
export {
  arrowSchema,
  declaredColumns,
  formatJsonl,
  readArrow,
  sweptColumnType,
  type TableRow,
  tableColumns,
  tableRow,
  toArrow,
} from "./run/tables.ts";
export { type LockOwner, ResultsStoreError, RunLockedError } from "./run/errors.ts";
export { CELL_ERRORS, type CellError, isCellError } from "./run/cell-errors.ts";
export { acquireRunLock, type RunLock, STALE_AFTER_MS } from "./run/lock.ts";
export { DEFAULT_LIMITS, LIMIT_FLAGS, type Limits } from "./spec/limits.ts";
export { experimentJsonSchema } from "./spec/json-schema.ts";
export {
  type CellExecutor,
  CellFailedError,
  type CellJob,
  ExecutorError,
  type ExecutorFailure,
  type ExecutorHooks,
  inProcess,
} from "./pool/executor.ts";
export { createThreadPool, type ThreadPool, type ThreadPoolOptions, threadPool } from "./pool/threads.ts";
export { type RedisExecutorOptions, redisExecutor } from "./distributed/executor.ts";
export { type QueueWorker, type QueueWorkerOptions, startQueueWorker } from "./distributed/worker.ts";
export { DEFAULT_QUEUE } from "./distributed/queue.ts";
export { DEFAULT_WORKER_GRACE_MS, noWorkerHint } from "./distributed/worker-watch.ts";
export type { ShardSpec } from "./shards/spec.ts";
export {
  type ShardedOptions,
  type ShardedScores,
  type ShardedSpec,
  shardedScores,
} from "./shards/sharded.ts";
export {
  type DistributedAcdcOptions,
  type DistributedAcdcSpec,
  distributedAcdc,
} from "./batches/acdc.ts";
export {
  type Cell,
  decodeExperiment,
  expandCells,
  type LoadedExperiment,
  loadExperiment,
  parseExperimentText,
  sweepAssignments,
} from "./spec/load.ts";
export { ExperimentFileError, Outputs, Runtime, Sweep } from "./spec/schema.ts";
export {
  BuiltinTaskSpec,
  type CircuitCellSpec,
  discoveryOf,
  Evaluation,
  Experiment,
  FileTaskSpec,
  TaskSpec,
} from "./kinds/circuit/spec.ts";
export { circuitArtifactPath, modelPathOf } from "./kinds/circuit/cell.ts";
export { CausalExperiment, type CausalCellSpec } from "./kinds/causal/spec.ts";
export { ReadoutExperiment } from "./kinds/readout/spec.ts";
