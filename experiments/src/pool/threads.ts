import { Effect } from "effect";
import { inStages, splitAcdcHere, threadParts } from "../batches/cells.ts";
import type { CellError } from "../run/cell-errors.ts";
import { shardJobsOfCell } from "../shards/plan.ts";
import type { ShardJob } from "../shards/spec.ts";
import { readShard } from "../shards/store.ts";
import {
  type CellExecutor,
  CellFailedError,
  type CellJob,
  type ExecutorFailure,
  type ExecutorHooks,
  failureOf,
} from "./executor.ts";
import { createThreadPool } from "./thread-pool.ts";

export { createThreadPool, type ThreadPool, type ThreadPoolOptions } from "./thread-pool.ts";

export interface ThreadPoolExecutorOptions {
  /** worker threads (default 2); at most one per cell (per shard while a sweep's shards run) */
  readonly workers: number;
  readonly timeoutMs?: number;
  readonly entry?: URL;
  readonly workerOptions?: unknown;
  /** ACDC cells with `split` coordinated at once, sharing the threads (default 1) */
  readonly acdcCells?: number;
}

/**
 * The thread-pool executor for runExperiment: at most `workers` cells at a time, each on its own
 * worker thread. The first failed cell stops new cells from starting; the cells already running
 * finish (their results are kept), then the run fails with that cell's CellFailedError.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { Effect } from "effect";
 * import { decodeExperiment, runExperiment, threadPool } from "@patchbay/experiments";
 * const dir = mkdtempSync(join(tmpdir(), "exp-"));
 * // a readout experiment built in code: direct logit attribution on the compiled induction model
 * const raw = { name: "doc", kind: "readout", model: "builtin:induction", data: { task: { n: 4 } }, method: { _tag: "dla" } };
 * const loaded = await Effect.runPromise(decodeExperiment(raw, join(dir, "doc.yaml")));
 * const summary = await Effect.runPromise(runExperiment(loaded, { results: join(dir, "results"), executor: threadPool({ workers: 1 }) }));
 * assert.equal(summary.cells[0]!.skipped, false);
 * ```
 */
export const threadPool = (opts: ThreadPoolExecutorOptions): CellExecutor =>
  // ACDC with split: the loop runs here, its batches' parts on the threads (batches/)
  inStages({
    shards: (jobs, hooks) => shardsOnThreads(opts, jobs, hooks),
    splitAcdc: (jobs, hooks) => splitAcdcOnThreads(opts, jobs, hooks),
    cells: (jobs, hooks) => cellsOnThreads(opts, jobs, hooks),
  });

/**
 * ACDC cells with `split`: their loops here, `acdcCells` at once (default 1), their batches' parts on
 * one pool of `workers` threads shared by the loops.
 */
const splitAcdcOnThreads = (
  opts: ThreadPoolExecutorOptions,
  jobs: readonly CellJob[],
  hooks: ExecutorHooks,
): Effect.Effect<void, CellError | ExecutorFailure> =>
  Effect.acquireUseRelease(
    // the default thread entry and no per-job limit, as the per-cell pools had (a part is not a cell)
    Effect.sync(() => createThreadPool({ size: Math.max(1, opts.workers) })),
    (pool) => splitAcdcHere(jobs, hooks, threadParts(pool), opts.acdcCells ?? 1),
    (pool) => Effect.promise(() => pool.close()),
  );

/**
 * Exact patching with `shards: k` (shards/): the cells' shards missing from the store run on the
 * threads first, so one cell's edges use every thread; each cell then merges its stored shards.
 * A shard that fails fails its cell, named with the shard.
 */
const shardsOnThreads = (
  opts: ThreadPoolExecutorOptions,
  jobs: readonly CellJob[],
  hooks: ExecutorHooks,
): Effect.Effect<void, CellError | CellFailedError> =>
  Effect.gen(function* () {
    const pending: { readonly cell: CellJob; readonly shard: ShardJob }[] = [];
    for (const cell of jobs) {
      const shards = yield* shardJobsOfCell(cell).pipe(
        Effect.tapError((e) => Effect.sync(() => hooks.failed(cell, e))),
      );
      for (const shard of shards)
        if (readShard(shard.input.results, shard.cellId) === null) pending.push({ cell, shard });
    }
    if (pending.length === 0) return;
    yield* Effect.acquireUseRelease(
      Effect.sync(() =>
        createThreadPool({ ...opts, size: Math.min(Math.max(1, opts.workers), pending.length) }),
      ),
      (pool) =>
        Effect.forEach(
          pending,
          ({ cell, shard }) =>
            Effect.tryPromise({
              try: () => pool.run(shard),
              catch: (e) => {
                const f =
                  e instanceof CellFailedError ? e : failureOf(shard, "the thread pool", "crashed", e);
                const which = `shard ${shard.index + 1} of ${shard.input.spec.shards} (${shard.cellId})`;
                return failureOf(cell, f.worker, f.reason, {
                  _tag: f.cause._tag,
                  message: `${which}: ${f.cause.message}`,
                });
              },
            }).pipe(Effect.tapError((e) => Effect.sync(() => hooks.failed(cell, e)))),
          { concurrency: pool.size, discard: true },
        ),
      (pool) => Effect.promise(() => pool.close()),
    );
  });

const cellsOnThreads = (
  opts: ThreadPoolExecutorOptions,
  jobs: readonly CellJob[],
  hooks: ExecutorHooks,
): Effect.Effect<void, CellFailedError> =>
  Effect.async<void, CellFailedError>((resume) => {
    const pool = createThreadPool({ ...opts, size: Math.min(Math.max(1, opts.workers), jobs.length) });
    let next = 0;
    let running = 0;
    let failure: CellFailedError | null = null;
    let defect: unknown = null;
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      void pool
        .close()
        .then(() =>
          resume(
            defect !== null ? Effect.die(defect) : failure !== null ? Effect.fail(failure) : Effect.void,
          ),
        );
    };
    const guard = (f: () => void) => {
      try {
        f();
      } catch (e) {
        defect ??= e;
      }
    };
    const launch = () => {
      while (failure === null && defect === null && next < jobs.length && running < pool.size) {
        const job = jobs[next++]!;
        running++;
        guard(() => hooks.start(job));
        pool
          .run(job)
          .then(
            (o) => guard(() => hooks.done(job, o)),
            (e: unknown) => {
              const err = e instanceof CellFailedError ? e : failureOf(job, "the thread pool", "crashed", e);
              failure ??= err;
              guard(() => hooks.failed(job, err));
            },
          )
          .finally(() => {
            running--;
            if (running === 0 && (failure !== null || defect !== null || next >= jobs.length)) end();
            else launch();
          });
      }
    };
    launch();
    return Effect.promise(() => pool.close());
  });
