import type { MaskRows, Method } from "@patchbay/circuits";
import { attempt, InputError, RuntimeError } from "@patchbay/core/errors";
import { Effect } from "effect";
import type { RedisExecutorOptions } from "../distributed/queue.ts";
import { type CellFailedError, type CellJob, type ExecutorHooks, errorInfo } from "../pool/executor.ts";
import { createThreadPool } from "../pool/thread-pool.ts";
import { runCellToStore } from "../run/cell.ts";
import type { CellError } from "../run/cell-errors.ts";
import { queueRows } from "./queue.ts";
import { type AcdcRowsMaker, type BatchInput, type BatchJob, batchIdOf, packMask } from "./spec.ts";

/** An ACDC circuit cell with `split`: its batches' parts go to a distributing executor's workers. */
export const isSplitAcdc = (job: CellJob): boolean => {
  const spec = job.input.spec as { readonly kind?: string; readonly method?: Method };
  return (
    (spec.kind === undefined || spec.kind === "circuit") &&
    spec.method?._tag === "acdc" &&
    spec.method.split !== undefined
  );
};

const asCellError =
  (where: string) =>
  (e: unknown): CellError =>
    e instanceof InputError
      ? e
      : new RuntimeError({
          model: where,
          operation: "evaluating an ACDC batch's part",
          cause: errorInfo(e).message,
        });

/** The parts on a Redis queue's workers (queueRows); a failure is a RuntimeError naming the job. */
export const queueRowsMaker =
  (opts: RedisExecutorOptions): AcdcRowsMaker =>
  ({ N, ...base }) =>
    Effect.map(
      // every part of a batch at once: the queue's workers take what they can
      Effect.mapError(queueRows(opts, base, N, 64), asCellError(opts.redis)),
      (rows): MaskRows<CellError> => ({
        concurrency: rows.concurrency ?? 1,
        evaluate: (layer, masks) => Effect.mapError(rows.evaluate(layer, masks), asCellError(opts.redis)),
      }),
    );

/**
 * The parts on `size` worker threads of this process (pool/threads.ts), each keeping the opened
 * setup across parts (opened.ts); the pool is closed with the Scope.
 */
export const threadRowsMaker =
  (size: number): AcdcRowsMaker =>
  ({ N, ...base }) =>
    Effect.map(
      Effect.acquireRelease(
        Effect.sync(() => createThreadPool({ size })),
        (pool) => Effect.promise(() => pool.close()),
      ),
      (pool): MaskRows<CellError> => {
        let parts = 0;
        return {
          concurrency: pool.size,
          evaluate: (layer, masks) =>
            Effect.gen(function* () {
              const packed = yield* attempt(() => masks.map((m, i) => packMask(m, i)), InputError);
              const input: BatchInput = { ...base, layer, masks: packed };
              const job: BatchJob = { batch: true, index: parts++, cellId: batchIdOf(input), input };
              const o = yield* Effect.tryPromise({
                try: () => pool.run(job),
                catch: asCellError(`worker threads (${pool.size})`),
              });
              if (o.metrics === undefined || o.metrics.perExample.length !== masks.length * N)
                return yield* new RuntimeError({
                  model: `worker threads (${pool.size})`,
                  operation: "evaluating an ACDC batch's part",
                  cause: `expected ${masks.length * N} metrics, found ${o.metrics?.perExample.length ?? "none"}`,
                });
              return { perExample: Float32Array.from(o.metrics.perExample), runs: o.metrics.runs };
            }),
        };
      },
    );

/**
 * Run the ACDC cells with `split` here, one after another, their batches' parts on `rows`' workers
 * (the ACDC loop and its checkpoint stay with this process, the coordinator). Reported through
 * the hooks as any executor's cells; the first failure fails the run.
 */
export const splitAcdcHere = (
  jobs: readonly CellJob[],
  hooks: ExecutorHooks,
  rows: AcdcRowsMaker,
): Effect.Effect<void, CellError | CellFailedError> =>
  Effect.forEach(
    jobs,
    (job) =>
      Effect.gen(function* () {
        hooks.start(job);
        const o = yield* runCellToStore({ ...job.input, acdcRows: rows }).pipe(
          Effect.tapError((e) => Effect.sync(() => hooks.failed(job, e))),
        );
        hooks.done(job, o);
      }),
    { discard: true },
  );
