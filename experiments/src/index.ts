/**
 * @patchbay/experiments — experiment files (YAML / JSON, an effect Schema), sweeps over any field,
 * a content-addressed results store with run manifests, resumable runs, and analysis tables
 * (JSONL, Arrow). Every CLI command (`validate`, `run`, `ls`) is one of these functions.
 */
export type { CellResult, ReadoutCellResult, ReadoutOutput } from "./results/types.ts";
export { isReadoutResult } from "./results/types.ts";
export { type ReadoutFigures, readoutFigures, topDlaComponent } from "./kinds/readout/figures.ts";
export {
  type ColumnSpec,
  type ColumnType,
  declaredColumns,
  TABLE_KINDS,
  type TableKind,
} from "./results/table-columns.ts";
export { type ReadoutCellInput, readoutIdentity, runReadoutCell } from "./kinds/readout/cell.ts";
export {
  isReadoutSpec,
  NeuronModels,
  type ReadoutCellData,
  type ReadoutCellSpec,
  ReadoutData,
  ReadoutExampleData,
  ReadoutMethod,
  ReadoutTaskData,
  ReadoutTextData,
} from "./kinds/readout/spec.ts";
export {
  type CellIdentity,
  type CellInput,
  type CellOutcome,
  cellIdentity,
  modelPathOf,
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
  formatJsonl,
  readArrow,
  sweptColumnType,
  type TableRow,
  tableColumns,
  tableRow,
  toArrow,
} from "./run/tables.ts";
export { type LockOwner, ResultsStoreError, RunLockedError } from "./run/errors.ts";
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
export {
  type Cell,
  decodeExperiment,
  expandCells,
  type LoadedExperiment,
  loadExperiment,
  parseExperimentText,
  sweepAssignments,
} from "./spec/load.ts";
export {
  BuiltinTaskSpec,
  type CellSpec,
  discoveryOf,
  Evaluation,
  Experiment,
  ExperimentFileError,
  FileTaskSpec,
  Outputs,
  ReadoutExperiment,
  Runtime,
  Sweep,
  TaskSpec,
} from "./spec/schema.ts";
