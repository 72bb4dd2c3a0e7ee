import type { MaskRows } from "@patchbay/circuits";
import { attempt, InputError } from "@patchbay/core/errors";
import type { Job } from "bullmq";
import { Effect, type Scope } from "effect";
import {
  addOnce,
  connectQueue,
  type CellJobResult,
  DEFAULT_QUEUE,
  decodeFailure,
  type RedisExecutorOptions,
  safeUrl,
  within,
} from "../distributed/queue.ts";
import { ExecutorError, type ExecutorFailure, errorInfo, failureOf } from "../pool/executor.ts";
import { type BatchInput, type BatchJob, batchIdOf, packMask } from "./spec.ts";

/**
 * ACDC's rows on a BullMQ queue: each part of a speculative batch (rowsInParts gives `evaluate`
 * one part at a time, `concurrency` at once) is one job (name "acdc-batch", id = batchIdOf),
 * taken by a `patchbay worker`, whose thread evaluates it with the local ACDC's function and
 * returns the per-example metrics; the coordinator waits on the queue's events (no polling) and
 * removes the job once read. A killed worker's job is retried by BullMQ (stalled), and since the
 * part is the same data the result is the same bits. A part that fails for good is a
 * CellFailedError naming the job, the worker and the cause (a typed error on the worker is not
 * retried). The connections close with the Scope.
 */
export const queueRows = (
  opts: RedisExecutorOptions,
  base: Pick<BatchInput, "spec" | "baseDir" | "setupId" | "entries">,
  N: number,
  concurrency: number,
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
      return {
        concurrency,
        evaluate: (layer, masks) =>
          Effect.gen(function* () {
            const packed = yield* attempt(() => masks.map((m, i) => packMask(m, i)), InputError);
            const input: BatchInput = { ...base, layer, masks: packed };
            const id = batchIdOf(input);
            const job: BatchJob = { batch: true, index: parts++, cellId: id, input };
            const failed = (reason: "failed" | "crashed" | "timed-out", worker: string, cause: unknown) =>
              failureOf(job, worker, reason, {
                _tag: errorInfo(cause)._tag,
                message: `ACDC batch at layer ${layer} (${masks.length} masks, job ${id}): ${errorInfo(cause).message}`,
              });
            const done = yield* Effect.tryPromise({
              try: async () => {
                await addOnce(queue, "acdc-batch", id, job, opts.attempts);
                const j = (await queue.getJob(id)) as Job<BatchJob, CellJobResult> | undefined;
                if (j === undefined) throw new Error(`job ${id} disappeared from ${where}`);
                try {
                  return {
                    ok: true as const,
                    value: (await j.waitUntilFinished(events, opts.timeoutMs)) as CellJobResult,
                  };
                } catch (e) {
                  const again = (await queue.getJob(id)) as Job<BatchJob, CellJobResult> | undefined;
                  return { ok: false as const, reason: again?.failedReason ?? errorInfo(e).message };
                }
              },
              catch: execError("run an ACDC batch"),
            });
            if (!done.ok) {
              const f = decodeFailure(done.reason);
              return yield* failed(f.reason, f.worker, f.cause);
            }
            const m = done.value.metrics;
            if (m === undefined || m.perExample.length !== masks.length * N)
              return yield* failed("crashed", done.value.worker, {
                _tag: "MissingResult",
                message: `expected ${masks.length * N} metrics, found ${m?.perExample.length ?? "none"}`,
              });
            yield* Effect.promise(() => Promise.resolve(queue.remove(id)).catch(() => 0)); // read: the job's value is not needed again
            return { perExample: Float32Array.from(m.perExample), runs: m.runs };
          }),
      };
    },
  );
};
