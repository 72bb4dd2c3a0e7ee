import type { MaskRows, Method } from "@patchbay/circuits";
import { attempt, InputError, RuntimeError } from "@patchbay/core/errors";
import { Effect } from "effect";
import type { RedisExecutorOptions } from "../distributed/queue.ts";
import {
  type CellExecutor,
  type CellJob,
  type ExecutorFailure,
  type ExecutorHooks,
  errorInfo,
  failureOf,
} from "../pool/executor.ts";
import type { ThreadPool } from "../pool/thread-pool.ts";
import { runCellToStore } from "../run/cell.ts";
import type { CellError } from "../run/cell-errors.ts";
import { setupKeyOf } from "./opened.ts";
import { queueRows } from "./queue.ts";
import type { SetupSpec } from "../kinds/circuit/batches.ts";
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

type Stage = (
  jobs: readonly CellJob[],
  hooks: ExecutorHooks,
) => Effect.Effect<void, CellError | ExecutorFailure>;

/**
 * A distributing executor (threads, queue) in its three stages, one after another: the sweep's
 * shards (exact patching with `shards`, given every job), the ACDC cells with `split` (their
 * loops here, their parts on the workers), then the other cells; a stage without jobs is skipped.
 */
export const inStages =
  (stages: { readonly shards: Stage; readonly splitAcdc: Stage; readonly cells: Stage }): CellExecutor =>
  (jobs, hooks) => {
    const acdc = jobs.filter(isSplitAcdc);
    const rest = jobs.filter((j) => !isSplitAcdc(j));
    return jobs.length === 0
      ? Effect.void
      : Effect.andThen(
          stages.shards(jobs, hooks),
          Effect.andThen(
            acdc.length === 0 ? Effect.void : stages.splitAcdc(acdc, hooks),
            rest.length === 0 ? Effect.void : stages.cells(rest, hooks),
          ),
        );
  };

/**
 * Where one split ACDC cell's parts go: the rows maker its circuit cell calls, and the executor's
 * own typed failure (a CellFailedError naming this cell, or an ExecutorError), if one happened:
 * the cell's channel carries CellErrors only, so the maker hands it a RuntimeError and keeps
 * the typed failure here for splitAcdcHere to report instead.
 */
export type PartsOf = (cell: CellJob) => {
  readonly rows: AcdcRowsMaker;
  readonly failure: () => ExecutorFailure | null;
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

/** The parts on a Redis queue's workers (queueRows); a failure names the cell, the job and the queue. */
export const queueParts =
  (opts: RedisExecutorOptions): PartsOf =>
  (cell) => {
    let failure: ExecutorFailure | null = null;
    const keep = (e: InputError | ExecutorFailure): CellError => {
      if (e._tag !== "InputError") failure ??= e;
      return asCellError(opts.redis)(e);
    };
    return {
      failure: () => failure,
      rows: ({ N, ...base }) =>
        Effect.map(
          // every part of a batch at once: the queue's workers take what they can
          Effect.mapError(queueRows(opts, base, N, 64, cell), keep),
          (rows): MaskRows<CellError> => ({
            concurrency: rows.concurrency ?? 1,
            evaluate: (layer, masks) => Effect.mapError(rows.evaluate(layer, masks), keep),
          }),
        ),
    };
  };

/**
 * The parts on the worker threads of `pool` (pool/threads.ts), shared by the cells coordinated at
 * once; each thread keeps the opened setup across parts (opened.ts).
 */
export const threadParts =
  (pool: ThreadPool): PartsOf =>
  () => ({
    failure: () => null,
    rows: ({ N, ...base }) => {
      let parts = 0;
      return Effect.succeed<MaskRows<CellError>>({
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
      });
    },
  });

/**
 * Run the ACDC cells with `split` here (each cell's ACDC loop and its checkpoint stay with this
 * process; the batches' parts go where `parts` sends them). Cells on the same edge setup
 * (setupKeyOf: a tau or order sweep) are coordinated up to `cells` at once, so their parts keep
 * more workers busy; cells on different setups run one group after another, since a worker holds
 * one setup at a time and interleaved setups make it reopen the model for every part (6× slower
 * in BENCHMARKS.md). A cell's bits do not depend on what runs beside it (its parts are pure
 * functions of their ids). Reported through the hooks as any executor's cells; after a failure
 * no further cell starts, the running ones finish (their results and checkpoints are kept), and
 * the run fails with the first failure.
 */
export const splitAcdcHere = (
  jobs: readonly CellJob[],
  hooks: ExecutorHooks,
  parts: PartsOf,
  cells = 1,
): Effect.Effect<void, CellError | ExecutorFailure> =>
  Effect.gen(function* () {
    let first: CellError | ExecutorFailure | null = null;
    const one = (job: CellJob) =>
      Effect.suspend(() => {
        if (first !== null) return Effect.void;
        hooks.start(job);
        const to = parts(job);
        return runCellToStore({ ...job.input, acdcRows: to.rows }).pipe(
          Effect.matchEffect({
            onFailure: (e) =>
              Effect.sync(() => {
                const f = to.failure() ?? e;
                first ??= f;
                hooks.failed(job, f._tag === "ExecutorError" ? failureOf(job, f.executor, "crashed", f) : f);
              }),
            onSuccess: (o) => Effect.sync(() => hooks.done(job, o)),
          }),
        );
      });
    const groups = new Map<string, CellJob[]>();
    for (const j of jobs) {
      const key = setupKeyOf({ spec: j.input.spec as unknown as SetupSpec, baseDir: j.input.baseDir });
      groups.set(key, [...(groups.get(key) ?? []), j]);
    }
    for (const group of groups.values())
      yield* Effect.forEach(group, one, { concurrency: Math.max(1, Math.floor(cells)), discard: true });
    if (first !== null) return yield* Effect.fail(first);
  });
