import type { MaskRows } from "@patchbay/circuits";
import { attempt, InputError } from "@patchbay/core/errors";
import { Effect, type Scope } from "effect";
import {
  connectQueue,
  type CellJobResult,
  DEFAULT_QUEUE,
  type RedisExecutorOptions,
  safeUrl,
  within,
} from "../distributed/queue.ts";
import { DEFAULT_WORKER_GRACE_MS, workerWatch } from "../distributed/worker-watch.ts";
import { type CellJob, ExecutorError, type ExecutorFailure, errorInfo, failureOf } from "../pool/executor.ts";
import { awaitPart } from "./await-part.ts";
import { type BatchInput, type BatchJob, batchIdOf, packMask } from "./spec.ts";

/**
 * ACDC's rows on a BullMQ queue: each part of a speculative batch (rowsInParts gives `evaluate`
 * one part at a time, `concurrency` at once) is one job (name "acdc-batch", id = batchIdOf),
 * taken by a `patchbay worker`, whose thread evaluates it with the local ACDC's function and
 * returns the per-example metrics; the coordinator waits on the queue's events (awaitPart: shared
 * with any other coordinator asking for the same part, never removed by one). A killed worker's
 * job is retried by BullMQ (stalled), and since the part is the same data the result is the same
 * bits. A part that fails for good, waits longer than `timeoutMs`, or waits on a queue no worker
 * has served for `workerGraceMs`, is a CellFailedError naming `cell` (default: the part's job),
 * the job, the queue and the cause (a typed error on the worker is not retried). The connections
 * close with the Scope.
 */
export const queueRows = (
  opts: RedisExecutorOptions,
  base: Pick<BatchInput, "spec" | "baseDir" | "setupId" | "entries">,
  N: number,
  concurrency: number,
  cell?: Pick<CellJob, "index" | "cellId">,
): Effect.Effect<MaskRows<InputError | ExecutorFailure>, ExecutorError, Scope.Scope> => {
  const name = opts.queue ?? DEFAULT_QUEUE;
  const where = `${safeUrl(opts.redis)} queue ${name}`;
  const execError = (operation: string) => (e: unknown) =>
    new ExecutorError({ executor: where, operation, cause: errorInfo(e) });
  return Effect.map(
    Effect.acquireRelease(
      Effect.tryPromise({
        try: () => connectQueue<BatchJob, CellJobResult>(opts.redis, name),
        catch: execError("connect"),
      }),
      ({ queue, events }) =>
        Effect.promise(() =>
          Promise.allSettled([
            within(events.close(), 5000, "close").catch(() => events.disconnect()),
            within(queue.close(), 5000, "close").catch(() => queue.disconnect()),
          ]),
        ),
    ),
    ({ queue, events }): MaskRows<InputError | ExecutorFailure> => {
      let parts = 0;
      const watch = workerWatch(queue, {
        redis: opts.redis,
        queue: name,
        graceMs: opts.workerGraceMs ?? DEFAULT_WORKER_GRACE_MS,
        ...(opts.log === undefined ? {} : { log: opts.log }),
      });
      return {
        concurrency,
        evaluate: (layer, masks) =>
          Effect.gen(function* () {
            const packed = yield* attempt(() => masks.map((m, i) => packMask(m, i)), InputError);
            const input: BatchInput = { ...base, layer, masks: packed };
            const id = batchIdOf(input);
            const job: BatchJob = { batch: true, index: parts++, cellId: id, input };
            const what = `ACDC batch part at layer ${layer} (${masks.length} masks, job ${id})`;
            const failed = (reason: Parameters<typeof failureOf>[2], worker: string, cause: unknown) =>
              failureOf(cell ?? job, worker, reason, {
                _tag: errorInfo(cause)._tag,
                message: `${what}: ${errorInfo(cause).message}`,
              });
            const done = yield* awaitPart(
              {
                queue,
                events,
                job,
                attempts: opts.attempts ?? 3,
                where,
                redis: opts.redis,
                queueName: name,
                watch,
                pollMs: opts.pollMs ?? 1000,
                ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
              },
              what,
            );
            if (!done.ok) return yield* failed(done.reason, done.worker, done.cause);
            const m = done.value.metrics;
            if (m === undefined || m.perExample.length !== masks.length * N)
              return yield* failed("crashed", done.value.worker, {
                _tag: "MissingResult",
                message: `expected ${masks.length * N} metrics, found ${m?.perExample.length ?? "none"}`,
              });
            return { perExample: Float32Array.from(m.perExample), runs: m.runs };
          }),
      };
    },
  );
};
