import { CellFailedError, ExecutorError } from "../pool/executor.ts";
import { isCellError } from "../run/cell-errors.ts";
import { ResultsStoreError, RunLockedError } from "../run/errors.ts";
import { ExperimentFileError } from "../spec/schema.ts";

/**
 * The experiments' typed errors: the CLI prints them under their tags (exit 1), like core's: a
 * cell's (run/cell-errors.ts: core's, CausalError, the readouts' own) and the run's.
 */
export const isExperimentsError = (e: unknown): e is { readonly _tag: string; readonly message: string } =>
  isCellError(e) ||
  e instanceof ExperimentFileError ||
  e instanceof ResultsStoreError ||
  e instanceof RunLockedError ||
  e instanceof CellFailedError ||
  e instanceof ExecutorError;
