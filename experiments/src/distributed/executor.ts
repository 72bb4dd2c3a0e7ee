import type { Job } from "bullmq";
import { Effect } from "effect";
import type { CellError } from "../run/cell-errors.ts";
import { shardJobsOfCell } from "../shards/plan.ts";
import { runShardsOnQueue } from "../shards/queue.ts";
import type { ShardJob } from "../shards/spec.ts";
import { inStages, queueParts, splitAcdcHere } from "../batches/cells.ts";
import {
  type CellExecutor,
  type CellFailedError,
  type CellJob,
  ExecutorError,
  type ExecutorHooks,
  type ExecutorFailure,
  errorInfo,
  failureOf,
} from "../pool/executor.ts";
import { readCellResult } from "../run/store.ts";
import {
  type RedisExecutorOptions,
  type CellJobData,
  type CellJobResult,
  addOnce,
  connectQueue,
  DEFAULT_QUEUE,
  decodeFailure,
  safeUrl,
  within,
} from "./queue.ts";
import { DEFAULT_WORKER_GRACE_MS, noWorkerHint, workerWatch } from "./worker-watch.ts";

/**
 * The Redis executor for runExperiment: enqueues the cells not yet in the store on a BullMQ queue
 * (job id = cell id: a cell already waiting or running — from this run or another — is not
 * enqueued again), waits for `patchbay worker` processes to compute them, reporting progress as
 * jobs start and finish, and checks each result file is in the (shared) store. A cell that fails
 * for good (a typed error, or retries/stalls exhausted) fails the run with a CellFailedError; so
 * do cells left waiting while no worker serves the queue for `workerGraceMs` ("no-worker").
 */
export type { RedisExecutorOptions } from "./queue.ts";

type Outcome = { readonly ok: true } | { readonly ok: false; readonly error: ExecutorFailure };

/**
 * The executor of a distributed run: cells go to a BullMQ queue on Redis, and `patchbay worker` processes (startQueueWorker) anywhere run them into the shared results store. Returns a CellExecutor for runExperiment.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { Effect } from "effect";
 * import { decodeExperiment, ExecutorError, redisExecutor, runExperiment } from "@patchbay/experiments";
 * const dir = mkdtempSync(join(tmpdir(), "exp-"));
 * // a readout experiment built in code: direct logit attribution on the compiled induction model
 * const raw = { name: "doc", kind: "readout", model: "builtin:induction", data: { task: { n: 4 } }, method: { _tag: "dla" } };
 * const loaded = await Effect.runPromise(decodeExperiment(raw, join(dir, "doc.yaml")));
 * // no Redis listens on port 1: the run fails with a typed ExecutorError naming the queue
 * const executor = redisExecutor({ redis: "redis://127.0.0.1:1" });
 * const exit = await Effect.runPromiseExit(runExperiment(loaded, { results: join(dir, "results"), executor }));
 * assert.equal(exit._tag, "Failure");
 * ```
 */
export const redisExecutor = (opts: RedisExecutorOptions): CellExecutor =>
  // ACDC with split: the loop runs here (the coordinator), its batches' parts on the queue (batches/)
  inStages({
    shards: (jobs, hooks) => shardsFirst(opts, jobs, hooks),
    splitAcdc: (jobs, hooks) => splitAcdcHere(jobs, hooks, queueParts(opts), opts.acdcCells ?? 1),
    cells: (jobs, hooks) => cellsOnQueue(opts, jobs, hooks),
  });

/**
 * Exact patching with `shards: k` (shards/): the cells' shards go on the queue first, so every
 * worker takes part in one cell's edges; once all are in the store the cells are enqueued, and
 * each merges its shards without computing them again.
 */
const shardsFirst = (
  opts: RedisExecutorOptions,
  jobs: readonly CellJob[],
  hooks: ExecutorHooks,
): Effect.Effect<void, CellError | ExecutorFailure> =>
  Effect.gen(function* () {
    const owner = new Map<string, CellJob>();
    const shards: ShardJob[] = [];
    for (const j of jobs) {
      const mine = yield* shardJobsOfCell(j).pipe(
        Effect.tapError((e) => Effect.sync(() => hooks.failed(j, e))),
      );
      for (const s of mine) {
        owner.set(s.cellId, j);
        shards.push(s);
      }
    }
    if (shards.length === 0) return;
    yield* runShardsOnQueue(opts, shards, (s) => owner.get(s.cellId)!).pipe(
      Effect.tapError((e) =>
        Effect.sync(() => {
          const j = e._tag === "CellFailedError" ? jobs.find((x) => x.cellId === e.cellId) : undefined;
          if (j !== undefined && e._tag === "CellFailedError") hooks.failed(j, e);
        }),
      ),
    );
  });

const cellsOnQueue = (
  opts: RedisExecutorOptions,
  jobs: readonly CellJob[],
  hooks: ExecutorHooks,
): Effect.Effect<void, CellError | ExecutorFailure> => {
  const name = opts.queue ?? DEFAULT_QUEUE;
  const where = `${safeUrl(opts.redis)} queue ${name}`;
  const log = opts.log ?? (() => {});
  const pollMs = opts.pollMs ?? 1000;
  const execError = (operation: string) => (e: unknown) =>
    new ExecutorError({ executor: where, operation, cause: errorInfo(e) });
  return Effect.acquireUseRelease(
    Effect.tryPromise({
      try: () => connectQueue<CellJobData, CellJobResult>(opts.redis, name),
      catch: execError("connect"),
    }),
    ({ queue, events }) =>
      Effect.async<void, ExecutorFailure>((resume) => {
        const pending = new Map<string, CellJob>(jobs.map((j) => [j.cellId, j]));
        const started = new Set<string>();
        let finished = false;
        const timers: ReturnType<typeof setTimeout>[] = [];
        const finish = (o: Outcome) => {
          if (finished) return;
          finished = true;
          for (const t of timers) clearTimeout(t);
          resume(o.ok ? Effect.void : Effect.fail(o.error));
        };
        const guard = (f: () => void) => {
          try {
            f();
          } catch (e) {
            finished = true;
            for (const t of timers) clearTimeout(t);
            resume(Effect.die(e));
          }
        };
        const start = (cellId: string) => {
          const j = pending.get(cellId);
          if (j === undefined || started.has(cellId) || finished) return;
          started.add(cellId);
          guard(() => hooks.start(j));
        };
        const complete = (cellId: string, r: CellJobResult | null) => {
          const j = pending.get(cellId);
          if (j === undefined || finished) return;
          start(cellId);
          if (readCellResult(j.input.results, cellId) === null) {
            // the job finished but its result is not in our store: the worker sees another file system
            return fail(
              j,
              failureOf(j, r?.worker ?? "a queue worker", "missing-result", {
                _tag: "MissingResult",
                message: `the job completed but ${j.input.results}/cells/${cellId}.json is not there (is the results folder shared with the workers?)`,
              }),
            );
          }
          pending.delete(cellId);
          guard(() =>
            hooks.done(j, {
              cellId,
              skipped: r?.skipped ?? false,
              seconds: r?.seconds ?? 0,
              path: r?.path ?? `${j.input.results}/cells/${cellId}.json`,
            }),
          );
          if (pending.size === 0) finish({ ok: true });
        };
        const fail = (j: CellJob, error: CellFailedError) => {
          if (finished) return;
          guard(() => hooks.failed(j, error));
          finish({ ok: false, error });
        };
        const failedFor = (j: CellJob, reason: string | undefined) => {
          const f = decodeFailure(reason);
          return failureOf(j, f.worker, f.reason, f.cause);
        };
        /** Look at one job's state: completed, failed for good, or still on its way. */
        const inspect = async (cellId: string) => {
          const j = pending.get(cellId);
          if (j === undefined) return;
          const job = (await queue.getJob(cellId)) as Job<CellJobData, CellJobResult> | undefined;
          const state = job === undefined ? "missing" : await job.getState();
          if (state === "active") start(cellId);
          else if (state === "completed")
            complete(cellId, (job?.returnvalue as CellJobResult | undefined) ?? null);
          else if (state === "failed") fail(j, failedFor(j, job?.failedReason));
          else if (state === "missing" && readCellResult(j.input.results, cellId) !== null)
            complete(cellId, null);
          else if (state === "missing")
            fail(
              j,
              failureOf(j, "the queue", "crashed", {
                _tag: "JobRemoved",
                message: `job ${cellId} disappeared from ${where} without a result`,
              }),
            );
        };

        events.on("active", ({ jobId }) => start(jobId));
        events.on("completed", ({ jobId, returnvalue }) => {
          const r =
            typeof returnvalue === "string"
              ? (JSON.parse(returnvalue) as CellJobResult)
              : (returnvalue as unknown as CellJobResult);
          complete(jobId, r ?? null);
        });
        events.on("failed", ({ jobId }) => {
          if (pending.has(jobId)) void inspect(jobId).catch(() => {});
        });
        events.on("stalled", ({ jobId }) => {
          if (pending.has(jobId))
            log(`cell ${jobId.slice(0, 12)} stalled (its worker stopped); BullMQ retries it`);
        });

        const enqueue = async () => {
          let added = 0;
          for (const j of jobs) if (await addOnce(queue, "cell", j.cellId, j, opts.attempts)) added++;
          const workers = await queue.getWorkersCount().catch(() => -1);
          log(
            `enqueued ${added} of ${jobs.length} cells on ${where}${added < jobs.length ? " (the others were already queued)" : ""}; ${workers >= 0 ? `${workers} worker${workers === 1 ? "" : "s"} connected` : ""}`,
          );
        };

        let lastProgress = Date.now();
        let lastSize = pending.size;
        const watch = workerWatch(queue, {
          redis: opts.redis,
          queue: name,
          graceMs: opts.workerGraceMs ?? DEFAULT_WORKER_GRACE_MS,
          log,
        });
        const poll = async () => {
          if (finished) return;
          try {
            for (const id of [...pending.keys()]) await inspect(id);
            const without = pending.size > 0 && !finished ? await watch.check() : null;
            const j = pending.values().next().value;
            if (without !== null && j !== undefined)
              return fail(
                j,
                failureOf(j, where, "no-worker", {
                  _tag: "NoQueueWorker",
                  message: `${noWorkerHint(opts.redis, name)}; ${pending.size} of ${jobs.length} cells waited ${Math.round(without / 1000)} s with no worker connected`,
                }),
              );
            if (pending.size !== lastSize) {
              lastSize = pending.size;
              lastProgress = Date.now();
            } else if (Date.now() - lastProgress > 30_000) {
              lastProgress = Date.now();
              const workers = await queue.getWorkersCount().catch(() => -1);
              log(`still waiting for ${pending.size} cells; ${workers} workers connected`);
            }
          } catch (e) {
            return finish({ ok: false, error: execError("poll job states")(e) });
          }
          if (!finished) timers.push(setTimeout(() => void poll(), pollMs));
        };

        if (opts.timeoutMs !== undefined)
          timers.push(
            setTimeout(() => {
              const j = pending.values().next().value;
              if (j === undefined) return;
              void queue
                .getJobState(j.cellId)
                .catch(() => "unknown")
                .then((state) =>
                  fail(
                    j,
                    failureOf(j, where, "timed-out", {
                      _tag: "Timeout",
                      message: `${pending.size} of ${jobs.length} cells still pending after ${opts.timeoutMs} ms (this one: ${state})`,
                    }),
                  ),
                );
            }, opts.timeoutMs),
          );

        enqueue().then(
          () => void poll(),
          (e: unknown) => finish({ ok: false, error: execError("enqueue")(e) }),
        );
        return Effect.sync(() => {
          finished = true;
          for (const t of timers) clearTimeout(t);
        });
      }),
    ({ queue, events }) =>
      Effect.promise(async () => {
        const closed = await Promise.allSettled([
          within(events.close(), 5000, "close"),
          within(queue.close(), 5000, "close"),
        ]);
        if (closed.some((c) => c.status === "rejected"))
          await Promise.allSettled([events.disconnect(), queue.disconnect()]);
      }),
  );
};
