import { parentPort, threadId } from "node:worker_threads";
import { Cause, Effect, Exit } from "effect";
import { type CellOutcome, runCellToStore } from "../run/cell.ts";
import { runShardToStore } from "../shards/run.ts";
import type { ShardJob } from "../shards/spec.ts";
import { runBatchJob } from "../batches/run.ts";
import type { BatchJob } from "../batches/spec.ts";
import { type CellJob, type ErrorInfo, errorInfo, isTypedError } from "./executor.ts";

/** Messages between the pool (main thread) and a worker thread. */
export type ToWorker = { readonly type: "job"; readonly job: AnyJob };
/** What a worker thread runs: a cell, a shard of one (shards/), or a part of an ACDC batch (batches/). */
export type AnyJob = CellJob | ShardJob | BatchJob;
export type FromWorker =
  | { readonly type: "done"; readonly cellId: string; readonly outcome: CellOutcome }
  | {
      readonly type: "failed";
      readonly cellId: string;
      /** true: the cell's own typed error (deterministic); false: a defect */
      readonly typed: boolean;
      readonly error: ErrorInfo;
    };

/**
 * Run one job the way every worker does: runCellToStore (a shard: runShardToStore; an ACDC batch:
 * runBatchJob), its outcome
 * or its error as plain data.
 */
export const handleJob = async (job: AnyJob): Promise<FromWorker> => {
  const exit = await Effect.runPromiseExit(
    "batch" in job
      ? runBatchJob(job.input, job.cellId)
      : "shard" in job
        ? runShardToStore(job.input)
        : runCellToStore(job.input),
  );
  if (Exit.isSuccess(exit)) return { type: "done", cellId: job.cellId, outcome: exit.value };
  const failure = Cause.failureOption(exit.cause);
  const err = failure._tag === "Some" ? failure.value : Cause.squash(exit.cause);
  return { type: "failed", cellId: job.cellId, typed: isTypedError(err), error: errorInfo(err) };
};

/** Serve jobs on this worker thread's parentPort, one at a time, until the pool terminates it. */
export const serve = (handle: (job: AnyJob) => Promise<FromWorker> = handleJob): void => {
  const port = parentPort;
  if (port === null) throw new Error("pool/worker.ts runs in a worker thread (new Worker), not as a script");
  port.on("message", (m: ToWorker) => {
    if (m.type !== "job") return;
    handle(m.job).then(
      (r) => port.postMessage(r),
      (e) => port.postMessage({ type: "failed", cellId: m.job.cellId, typed: false, error: errorInfo(e) }),
    );
  });
};

export const workerName = (): string => `thread ${threadId} of pid ${process.pid}`;
