import type { EventEmitter } from "node:events";
import type { Job, Queue, QueueEvents } from "bullmq";
import { Effect } from "effect";
import { type CellJobFailure, type CellJobResult, decodeFailure } from "../distributed/queue.ts";
import { noWorkerHint, type WorkerWatch } from "../distributed/worker-watch.ts";
import { ExecutorError, errorInfo } from "../pool/executor.ts";
import type { BatchJob } from "./spec.ts";

/** How one part's job ended for this coordinator: its value, or why there is none. */
export type PartOutcome =
  | { readonly ok: true; readonly value: CellJobResult }
  | {
      readonly ok: false;
      readonly reason: CellJobFailure["reason"] | "no-worker";
      readonly worker: string;
      readonly cause: { readonly _tag: string; readonly message: string };
    };

/** What a coordinator needs to put one part on the queue and wait for it. */
export interface PartOnQueue {
  readonly queue: Queue<BatchJob, CellJobResult>;
  readonly events: QueueEvents;
  readonly job: BatchJob;
  readonly attempts: number;
  /** "redis://… queue <name>", for messages */
  readonly where: string;
  readonly redis: string;
  readonly queueName: string;
  readonly watch: WorkerWatch;
  /** how often the job's state is read besides its events (ms) */
  readonly pollMs: number;
  /** give up on this part after this long (ms) */
  readonly timeoutMs?: number;
}

/** A queued part that vanished (removed from Redis by hand, or by age) is queued again this often at most. */
const REQUEUES = 3;

/**
 * Put a part on the queue unless it is there, and wait for its end, sharing it with any other
 * coordinator asking for the same part (job id = batchIdOf, a hash of setup, layer and masks):
 * - a completed job is read, never removed by a coordinator (one still waiting on it may need it);
 *   BullMQ drops completed parts ten minutes after they finish (`removeOnComplete`). Its value
 *   comes with the `completed:<id>` event, so a later removal loses nothing; a part found already
 *   completed (another coordinator's, or an earlier run's) is not computed again, its value read
 *   after its state;
 * - a failed job found on arrival (an earlier run's) is queued again; one that fails while this
 *   coordinator waits is its answer (from the `failed:<id>` event, not read back from the job);
 * - a job that vanishes while waited on is queued again (at most REQUEUES times): the value is a
 *   function of the id, so whoever computes it computes the same bits;
 * - no worker on the queue for the watch's grace: `no-worker`; past `timeoutMs`: `timed-out`,
 *   both naming the part, its state and the queue.
 * The events are the fast path; the state is also read every `pollMs`. Interrupting the effect
 * stops the waiting (listeners and timers removed); the job stays for whoever else wants it.
 */
export const awaitPart = (p: PartOnQueue, what: string): Effect.Effect<PartOutcome, ExecutorError> =>
  Effect.async<PartOutcome, ExecutorError>((resume) => {
    const id = p.job.cellId;
    const t0 = Date.now();
    let over = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let requeued = 0;
    // QueueEvents emits `completed:<id>` and `failed:<id>` besides its typed events
    const bus = p.events as unknown as EventEmitter;
    const completedEvent = `completed:${id}`;
    const failedEvent = `failed:${id}`;
    const stop = () => {
      over = true;
      clearTimeout(timer);
      bus.removeListener(completedEvent, onCompleted);
      bus.removeListener(failedEvent, onFailed);
    };
    const end = (o: PartOutcome | ExecutorError) => {
      if (over) return;
      stop();
      resume(o instanceof ExecutorError ? Effect.fail(o) : Effect.succeed(o));
    };
    const failure = (reason: string | undefined): PartOutcome => ({ ok: false, ...decodeFailure(reason) });
    function onCompleted(args: { returnvalue: unknown }) {
      const v = args.returnvalue;
      end({ ok: true, value: (typeof v === "string" ? JSON.parse(v) : v) as CellJobResult });
    }
    function onFailed(args: { failedReason: string }) {
      end(failure(args.failedReason));
    }
    bus.on(completedEvent, onCompleted);
    bus.on(failedEvent, onFailed);

    const add = () =>
      p.queue.add("acdc-batch", p.job, {
        jobId: id,
        attempts: p.attempts,
        backoff: { type: "fixed", delay: 500 },
        removeOnComplete: { age: 600 },
        removeOnFail: { age: 7 * 24 * 3600 },
      });
    const look = async (first: boolean): Promise<void> => {
      const job = (await p.queue.getJob(id)) as Job<BatchJob, CellJobResult> | undefined;
      const state = job === undefined ? "missing" : await job.getState();
      if (over) return;
      if (state === "completed") {
        // read the value after the state: a job read just before it completed has no value yet
        // (a coordinator once took that null for the result); gone meanwhile, the next look re-queues
        const value = ((await p.queue.getJob(id)) as Job<BatchJob, CellJobResult> | undefined)?.returnvalue;
        if (over || value === undefined || value === null) return;
        return end({ ok: true, value });
      }
      if (state === "failed" && !first) return end(failure(job?.failedReason));
      if (state === "failed" || state === "missing" || state === "unknown") {
        if (!first && ++requeued > REQUEUES)
          return end({
            ok: false,
            reason: "crashed",
            worker: "the queue",
            cause: {
              _tag: "JobRemoved",
              message: `${what} disappeared from ${p.where} ${REQUEUES} times without a result`,
            },
          });
        if (state === "failed") await job?.remove().catch(() => {});
        await add();
        return;
      }
      // waiting, delayed (a retry's backoff), prioritized or active: is anyone serving the queue?
      const without = await p.watch.check();
      if (over) return;
      if (without !== null)
        return end({
          ok: false,
          reason: "no-worker",
          worker: p.where,
          cause: {
            _tag: "NoQueueWorker",
            message: `${noWorkerHint(p.redis, p.queueName)}; ${what} sat ${state} for ${Math.round(without / 1000)} s with no worker connected`,
          },
        });
      if (p.timeoutMs !== undefined && Date.now() - t0 > p.timeoutMs)
        return end({
          ok: false,
          reason: "timed-out",
          worker: p.where,
          cause: {
            _tag: "Timeout",
            message: `${what} not finished after ${p.timeoutMs} ms on ${p.where} (job ${state})`,
          },
        });
    };
    const loop = (first: boolean) => {
      look(first).then(
        () => {
          if (!over) timer = setTimeout(() => loop(false), p.pollMs);
        },
        (e: unknown) =>
          end(new ExecutorError({ executor: p.where, operation: `wait for ${what}`, cause: errorInfo(e) })),
      );
    };
    // listen first (once the events connection is ready), then look: no completion is missed
    p.events.waitUntilReady().then(
      () => loop(true),
      (e: unknown) =>
        end(
          new ExecutorError({ executor: p.where, operation: "listen to queue events", cause: errorInfo(e) }),
        ),
    );
    return Effect.sync(stop);
  });
