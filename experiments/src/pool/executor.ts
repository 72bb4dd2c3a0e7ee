import { Data, Effect } from "effect";
import { type CellInput, type CellOutcome, runCellToStore } from "../run/cell.ts";
import { isCellError, type CellError } from "../run/cell-errors.ts";

/**
 * How a sweep's cells get computed. `runExperiment` plans the cells, skips those already in the
 * store, hands the rest to an executor and keeps the manifest, events and tables itself — so the
 * in-process loop, the worker-thread pool and the Redis queue share one runner.
 */

/** One cell to compute, as plain data (structured-clone and JSON safe). */
export interface CellJob {
  /** the cell's index in the sweep */
  readonly index: number;
  readonly cellId: string;
  /** what runCellToStore / runCellJob takes: the cell, its base folder, the results store, its id */
  readonly input: CellInput & { readonly results: string; readonly cellId: string };
}

/** What an executor reports while it works (called on the runner's thread, in completion order). */
export interface ExecutorHooks {
  readonly start: (job: CellJob) => void;
  readonly done: (job: CellJob, outcome: CellOutcome) => void;
  /** a cell failed; called before the executor's effect fails with that error */
  readonly failed: (job: CellJob, error: CellError | CellFailedError) => void;
}

/** Computes every job into the results store (each result written by runCellToStore), or fails. */
export type CellExecutor = (
  jobs: readonly CellJob[],
  hooks: ExecutorHooks,
) => Effect.Effect<void, CellError | ExecutorFailure>;

/** How an executor fails besides a cell's own typed error. */
export type ExecutorFailure = CellFailedError | ExecutorError;

/** A plain-data description of an error (what crosses a thread or a queue). */
export interface ErrorInfo {
  readonly _tag: string;
  readonly message: string;
}

export const errorInfo = (e: unknown): ErrorInfo => {
  if (typeof e === "object" && e !== null) {
    const tag = "_tag" in e && typeof e._tag === "string" ? e._tag : e instanceof Error ? e.name : "Error";
    const message = "message" in e && typeof e.message === "string" ? e.message : String(e);
    return { _tag: tag, message };
  }
  return { _tag: "Error", message: String(e) };
};

/**
 * A cell that did not finish on a worker: its computation failed (a typed error, kept as `cause`),
 * the worker crashed (thread exit, uncaught exception, out of memory), it ran past its time limit,
 * or its result is not where it should be. Names the cell and the worker.
 */
export class CellFailedError extends Data.TaggedError("CellFailedError")<{
  readonly index: number;
  readonly cellId: string;
  readonly worker: string;
  /** "no-worker": its jobs waited on a queue no worker served (distributed ACDC) */
  readonly reason: "failed" | "crashed" | "timed-out" | "missing-result" | "no-worker";
  readonly cause: ErrorInfo;
}> {
  override get message(): string {
    return `cell ${this.index + 1} (${this.cellId}) ${this.reason} on ${this.worker}: ${this.cause._tag}: ${this.cause.message}`;
  }
}

/** The executor itself cannot work: e.g. the queue's Redis is unreachable. Names where and what. */
export class ExecutorError extends Data.TaggedError("ExecutorError")<{
  /** "threads", "redis://127.0.0.1:6379 queue patchbay-cells", … */
  readonly executor: string;
  readonly operation: string;
  readonly cause: ErrorInfo;
}> {
  override get message(): string {
    return `${this.executor}: ${this.operation} failed: ${this.cause._tag}: ${this.cause.message}`;
  }
}

/**
 * The in-process executor: one cell after another on this thread (the default, as before).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { Effect } from "effect";
 * import { decodeExperiment, inProcess, runExperiment } from "@patchbay/experiments";
 * const dir = mkdtempSync(join(tmpdir(), "exp-"));
 * // a readout experiment built in code: direct logit attribution on the compiled induction model
 * const raw = { name: "doc", kind: "readout", model: "builtin:induction", data: { task: { n: 4 } }, method: { _tag: "dla" } };
 * const loaded = await Effect.runPromise(decodeExperiment(raw, join(dir, "doc.yaml")));
 * const summary = await Effect.runPromise(runExperiment(loaded, { results: join(dir, "results"), executor: inProcess }));
 * assert.equal(summary.cells.length, 1);
 * ```
 */
export const inProcess: CellExecutor = (jobs, hooks) =>
  Effect.forEach(
    jobs,
    (job) =>
      Effect.gen(function* () {
        hooks.start(job);
        const outcome = yield* runCellToStore(job.input).pipe(
          Effect.tapError((e) => Effect.sync(() => hooks.failed(job, e))),
        );
        hooks.done(job, outcome);
      }),
    { discard: true },
  );

/** Rebuild a typed failure from what a worker reported. */
export const failureOf = (
  job: Pick<CellJob, "index" | "cellId">,
  worker: string,
  reason: CellFailedError["reason"],
  cause: unknown,
): CellFailedError =>
  new CellFailedError({ index: job.index, cellId: job.cellId, worker, reason, cause: errorInfo(cause) });

export const isTypedError = (e: unknown): e is CellError | CellFailedError =>
  isCellError(e) ||
  (typeof e === "object" && e !== null && (e as { _tag?: unknown })._tag === "CellFailedError");
