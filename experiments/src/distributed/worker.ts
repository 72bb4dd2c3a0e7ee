import { hostname } from "node:os";
import { UnrecoverableError, Worker } from "bullmq";
import "@patchbay/zoo"; // registers builtin:<name> model paths with core
import { CellFailedError, errorInfo } from "../pool/executor.ts";
import { createThreadPool } from "../pool/thread-pool.ts";
import { cellPath, readCellResult } from "../run/store.ts";
import type { BatchJob } from "../batches/spec.ts";
import type { ShardJob } from "../shards/spec.ts";
import { readShard, shardPath } from "../shards/store.ts";
import {
  type CellJobData,
  type CellJobResult,
  connectionOf,
  DEFAULT_QUEUE,
  encodeFailure,
  probe,
  safeUrl,
  within,
} from "./queue.ts";

/**
 * A queue worker: pulls cell jobs (and shard jobs: shards/; a distributed ACDC's batches: batches/) from the BullMQ queue on Redis and runs each on a worker thread
 * of its own pool (so this process's event loop stays free to renew job locks while ORT computes),
 * writing the result into the results folder named in the job.
 *
 * At-least-once delivery, exactly-once results: a job whose result file already exists is
 * acknowledged without computing (`skipped`); a computed result is written atomically under its
 * content address, so a job delivered twice (a stalled lock, a killed worker) writes the same
 * bytes to the same name. A killed worker's job is taken back by BullMQ once its lock expires
 * (`lockDurationMs`) and the stalled check runs (`stalledIntervalMs`).
 */
export interface QueueWorkerOptions {
  readonly redis: string;
  readonly queue?: string;
  /** cells at a time, each on its own thread (default 1) */
  readonly concurrency?: number;
  /** BullMQ job lock (default 30 000 ms); renewed every half of it while a cell runs */
  readonly lockDurationMs?: number;
  /** how often stalled jobs are looked for (default 30 000 ms) */
  readonly stalledIntervalMs?: number;
  /** times a job may stall before it fails (default 3) */
  readonly maxStalledCount?: number;
  /** per-cell limit on the thread (default none) */
  readonly cellTimeoutMs?: number;
  readonly log?: (line: string) => void;
}

export interface QueueWorker {
  readonly name: string;
  readonly worker: Worker<CellJobData | ShardJob | BatchJob, CellJobResult>;
  /** Stop taking jobs, wait up to `graceMs` for running ones, then stop the threads. */
  readonly close: (graceMs?: number) => Promise<void>;
}

/**
 * Start a queue worker: it takes cells from the Redis queue and runs them on its own worker threads (`concurrency` at a time) into the results store they name. Resolves to `{ name, worker, close }` once connected; rejects when Redis cannot be reached.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { startQueueWorker } from "@patchbay/experiments";
 *
 * // with a Redis server: const w = await startQueueWorker({ redis: "redis://127.0.0.1:6379" }); … await w.close();
 * await assert.rejects(startQueueWorker({ redis: "redis://127.0.0.1:1" }), /127\.0\.0\.1:1/);
 * ```
 */
export const startQueueWorker = async (opts: QueueWorkerOptions): Promise<QueueWorker> => {
  const concurrency = Math.max(1, Math.floor(opts.concurrency ?? 1));
  const name = `${hostname()}:${process.pid}`;
  const log = opts.log ?? (() => {});
  await probe(opts.redis);
  const pool = createThreadPool({
    size: concurrency,
    eager: true,
    ...(opts.cellTimeoutMs !== undefined ? { timeoutMs: opts.cellTimeoutMs } : {}),
  });
  const processor = async (job: { data: CellJobData | ShardJob | BatchJob }): Promise<CellJobResult> => {
    const data = job.data;
    if ("batch" in data) return runBatch(data);
    const { results, cellId } = data.input;
    // a shard of a cell (shards/): its own file in the store, logged as "… shard <id>"
    const shard = "shard" in data;
    const what = shard ? `shard ${cellId}` : cellId;
    const where = shard ? `shard ${data.index + 1} of ${data.input.spec.shards}` : `cell ${data.index + 1}`;
    if (shard ? readShard(results, cellId) !== null : readCellResult(results, cellId) !== null) {
      log(`skipped ${what} (${where}; already in the store)`);
      const path = shard ? shardPath(results, cellId) : cellPath(results, cellId);
      return { cellId, skipped: true, seconds: 0, path, worker: name };
    }
    log(`start ${what} (${where})`);
    try {
      const o = await pool.run(data);
      log(`${o.skipped ? "skipped" : "done"} ${what} in ${o.seconds.toFixed(2)} s`);
      return { ...o, worker: name };
    } catch (e) {
      const f = e instanceof CellFailedError ? e : null;
      const reason = f?.reason === "failed" || f?.reason === "timed-out" ? f.reason : "crashed";
      const failure = encodeFailure({ reason, worker: name, cause: f?.cause ?? errorInfo(e) });
      log(`failed ${cellId}: ${f?.message ?? String(e)}`);
      // a cell's own typed error is deterministic: retrying cannot help
      if (reason === "failed") throw new UnrecoverableError(failure);
      throw new Error(failure);
    }
  };
  // an ACDC batch (batches/): nothing in the store, the metrics go back as the job's value
  const runBatch = async (data: BatchJob): Promise<CellJobResult> => {
    const what = `batch ${data.cellId} (part ${data.index + 1}, layer ${data.input.layer}, ${data.input.masks.length} masks)`;
    log(`start ${what}`);
    try {
      const o = await pool.run(data);
      log(`done batch ${data.cellId} in ${o.seconds.toFixed(2)} s`);
      return { ...o, worker: name };
    } catch (e) {
      const f = e instanceof CellFailedError ? e : null;
      const reason = f?.reason === "failed" || f?.reason === "timed-out" ? f.reason : "crashed";
      const failure = encodeFailure({ reason, worker: name, cause: f?.cause ?? errorInfo(e) });
      log(`failed batch ${data.cellId}: ${f?.message ?? String(e)}`);
      if (reason === "failed") throw new UnrecoverableError(failure);
      throw new Error(failure);
    }
  };
  const worker = new Worker<CellJobData | ShardJob | BatchJob, CellJobResult>(
    opts.queue ?? DEFAULT_QUEUE,
    processor,
    {
      connection: connectionOf(opts.redis),
      concurrency,
      lockDuration: opts.lockDurationMs ?? 30_000,
      stalledInterval: opts.stalledIntervalMs ?? 30_000,
      maxStalledCount: opts.maxStalledCount ?? 3,
      name,
    },
  );
  let lastError = "";
  worker.on("error", (e) => {
    if (e.message !== lastError) log(`queue error: ${e.message}`);
    lastError = e.message;
  });
  try {
    await within(worker.waitUntilReady(), 15_000, `connecting to ${safeUrl(opts.redis)}`);
  } catch (e) {
    await worker.disconnect().catch(() => {});
    await pool.close();
    throw e;
  }
  log(
    `worker ${name} ready on ${safeUrl(opts.redis)} queue ${opts.queue ?? DEFAULT_QUEUE} (concurrency ${concurrency})`,
  );
  return {
    name,
    worker,
    close: async (graceMs = 10_000) => {
      // BullMQ's close waits for the running jobs, then QUITs its connections; with Redis gone it
      // waits forever (a second close(true) only returns the first close's promise), so past the
      // grace the connections are dropped without asking the server
      const closed = await within(worker.close(), graceMs, "closing the worker").then(
        () => true,
        () => false,
      );
      if (!closed) {
        log(`the queue did not close within ${graceMs} ms (Redis gone?): disconnecting`);
        await within(worker.disconnect(), 2000, "disconnecting").catch(() => {});
      }
      await pool.close();
    },
  };
};
