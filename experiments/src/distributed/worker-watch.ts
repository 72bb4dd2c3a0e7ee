import type { Queue } from "bullmq";
import { DEFAULT_QUEUE, safeUrl } from "./queue.ts";

/** How long a coordinator waits for a first queue worker before failing (default 60 s). */
export const DEFAULT_WORKER_GRACE_MS = 60_000;

/**
 * The line telling a researcher how to serve `queue` on `redis`: what a distributed ACDC's
 * no-worker failure says (the password hidden).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { noWorkerHint } from "@patchbay/experiments";
 *
 * assert.match(noWorkerHint("redis://:secret@h:6379", "q"), /patchbay worker --redis redis:\/\/:\*\*\*@h:6379 --queue q/);
 * ```
 */
export const noWorkerHint = (redis: string, queue: string): string =>
  `no worker is serving queue ${queue} on ${safeUrl(redis)}: start one with \`patchbay worker --redis ${safeUrl(redis)}${queue === DEFAULT_QUEUE ? "" : ` --queue ${queue}`}\``;

/** Whether the queue has been without a worker for longer than its grace, and for how long. */
export interface WorkerWatch {
  /**
   * Ask Redis (BullMQ's getWorkersCount: the workers' named connections, at most one question
   * per `everyMs`): null while a worker serves the queue, or while none has for less than the
   * grace; else the milliseconds the queue has been without one. The first time none is seen it
   * logs the hint once. A Redis that refuses to list its clients (CLIENT LIST) is never taken
   * for one without workers: null, and a line logged once.
   */
  readonly check: () => Promise<number | null>;
}

/**
 * Watch a queue's workers on behalf of a coordinator with jobs pending: a run whose jobs sit on a
 * queue no worker serves would otherwise wait silently until its timeout. The clock starts when
 * no worker is first seen and restarts whenever one is; `graceMs` 0 fails at the first look.
 */
export const workerWatch = (
  queue: Pick<Queue, "getWorkersCount">,
  opts: {
    readonly redis: string;
    readonly queue: string;
    readonly graceMs: number;
    readonly everyMs?: number;
    readonly log?: (line: string) => void;
  },
): WorkerWatch => {
  let asked: { readonly at: number; readonly count: Promise<number> } | null = null;
  let since: number | null = null;
  let logged = false;
  let blind = false;
  return {
    check: async () => {
      const now = Date.now();
      if (asked === null || now - asked.at >= (opts.everyMs ?? 500))
        asked = { at: now, count: queue.getWorkersCount() };
      const n = await asked.count.catch((e: unknown) => {
        // some hosted Redis refuse CLIENT LIST: the workers cannot be counted, so never blame them
        if (!blind)
          opts.log?.(
            `cannot count the workers of queue ${opts.queue} on ${safeUrl(opts.redis)} (${e instanceof Error ? e.message : String(e)}): no no-worker check, waiting until the timeout`,
          );
        blind = true;
        return -1;
      });
      if (n < 0) return null;
      if (n > 0) {
        since = null;
        return null;
      }
      since ??= now;
      if (!logged) {
        logged = true;
        opts.log?.(
          `${noWorkerHint(opts.redis, opts.queue)} (failing in ${Math.round(opts.graceMs / 1000)} s)`,
        );
      }
      const without = Date.now() - since;
      return without >= opts.graceMs ? without : null;
    },
  };
};
