import { type Job, Queue } from "bullmq";
import { Effect } from "effect";
import {
  type CellFailedError,
  type CellJob,
  ExecutorError,
  type ExecutorFailure,
  errorInfo,
  failureOf,
} from "../pool/executor.ts";
import {
  type CellJobResult,
  addOnce,
  connectionOf,
  DEFAULT_QUEUE,
  decodeFailure,
  probe,
  type RedisExecutorOptions,
  safeUrl,
  within,
} from "../distributed/queue.ts";
import { DEFAULT_WORKER_GRACE_MS, noWorkerHint, workerWatch } from "../distributed/worker-watch.ts";
import type { ShardJob } from "./spec.ts";
import { readShard } from "./store.ts";

/**
 * Shards on the BullMQ queue the cells use: one job per shard (name "shard", job id = shard id,
 * so a shard is enqueued once however many runs ask for it), taken by `patchbay worker`
 * processes, each writing its shard into the shared store. Resolves once every shard's file is
 * there. A killed worker's shard is retried by BullMQ (stalled); finished shards stay in the
 * store and are never computed again (a worker acknowledges a shard whose file exists). A shard
 * that fails for good fails with a CellFailedError naming the cell `of(job)` and the shard; so
 * do shards left waiting while no worker serves the queue for `workerGraceMs` ("no-worker").
 */
export const runShardsOnQueue = (
  opts: RedisExecutorOptions,
  jobs: readonly ShardJob[],
  of: (job: ShardJob) => Pick<CellJob, "index" | "cellId">,
): Effect.Effect<void, ExecutorFailure> => {
  const pending = jobs.filter((j) => readShard(j.input.results, j.cellId) === null);
  if (pending.length === 0) return Effect.void;
  const name = opts.queue ?? DEFAULT_QUEUE;
  const where = `${safeUrl(opts.redis)} queue ${name}`;
  const log = opts.log ?? (() => {});
  const pollMs = opts.pollMs ?? 1000;
  const execError = (operation: string) => (e: unknown) =>
    new ExecutorError({ executor: where, operation, cause: errorInfo(e) });
  const shardFailure = (j: ShardJob, worker: string, reason: CellFailedError["reason"], cause: unknown) => {
    const c = errorInfo(cause);
    const which = `shard ${j.index + 1} of ${j.input.spec.shards} (${j.cellId})`;
    return failureOf(of(j), worker, reason, { _tag: c._tag, message: `${which}: ${c.message}` });
  };
  return Effect.acquireUseRelease(
    Effect.tryPromise({
      try: async () => {
        await probe(opts.redis);
        const queue = new Queue<ShardJob, CellJobResult>(name, { connection: connectionOf(opts.redis) });
        queue.on("error", () => {});
        await within(queue.waitUntilReady(), 10_000, "connecting").catch(async (e: unknown) => {
          await within(queue.close(), 2000, "close").catch(() => {});
          throw e;
        });
        return queue;
      },
      catch: execError("connect"),
    }),
    (queue) =>
      Effect.gen(function* () {
        yield* Effect.tryPromise({
          try: async () => {
            for (const j of pending) await addOnce(queue, "shard", j.cellId, j, opts.attempts);
            log(
              `enqueued ${pending.length} of ${jobs.length} shards on ${where} (the others are in the store)`,
            );
          },
          catch: execError("enqueue shards"),
        });
        const t0 = Date.now();
        const watch = workerWatch(queue, {
          redis: opts.redis,
          queue: name,
          graceMs: opts.workerGraceMs ?? DEFAULT_WORKER_GRACE_MS,
          log,
        });
        let left = pending;
        while (left.length > 0) {
          const next: ShardJob[] = [];
          for (const j of left) {
            if (readShard(j.input.results, j.cellId) !== null) continue;
            const job = yield* Effect.tryPromise({
              try: () => queue.getJob(j.cellId) as Promise<Job<ShardJob, CellJobResult> | undefined>,
              catch: execError("poll shard states"),
            });
            const state =
              job === undefined
                ? "missing"
                : yield* Effect.tryPromise({
                    try: () => job.getState(),
                    catch: execError("poll shard states"),
                  });
            // the file is written before the job completes: read it again before judging
            if (readShard(j.input.results, j.cellId) !== null) continue;
            if (state === "failed") {
              const f = decodeFailure(job?.failedReason);
              return yield* shardFailure(j, f.worker, f.reason, f.cause);
            }
            if (state === "completed")
              return yield* shardFailure(j, job?.returnvalue?.worker ?? "a queue worker", "missing-result", {
                _tag: "MissingResult",
                message: `the job completed but its file is not in ${j.input.results}/shards (is the results folder shared with the workers?)`,
              });
            if (state === "missing")
              return yield* shardFailure(j, "the queue", "crashed", {
                _tag: "JobRemoved",
                message: `the job disappeared from ${where} without a result`,
              });
            next.push(j);
          }
          left = next;
          if (left.length === 0) break;
          const without = yield* Effect.tryPromise({
            try: () => watch.check(),
            catch: execError("count the queue's workers"),
          });
          if (without !== null)
            return yield* shardFailure(left[0]!, where, "no-worker", {
              _tag: "NoQueueWorker",
              message: `${noWorkerHint(opts.redis, name)}; ${left.length} shards waited ${Math.round(without / 1000)} s with no worker connected`,
            });
          if (opts.timeoutMs !== undefined && Date.now() - t0 > opts.timeoutMs)
            return yield* shardFailure(left[0]!, where, "timed-out", {
              _tag: "Timeout",
              message: `${left.length} of ${pending.length} shards still pending after ${opts.timeoutMs} ms`,
            });
          yield* Effect.sleep(pollMs);
        }
      }),
    (queue) => Effect.promise(() => within(queue.close(), 5000, "close").catch(() => queue.disconnect())),
  );
};
