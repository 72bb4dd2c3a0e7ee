import { connect } from "node:net";
import { type ConnectionOptions, type Job, Queue, QueueEvents } from "bullmq";
import type { CellOutcome } from "../run/cell.ts";
import type { CellJob, ErrorInfo } from "../pool/executor.ts";

/**
 * The queue both sides share: one BullMQ job per cell, job id = cell id (so a cell is enqueued
 * once however many runs ask for it), payload = the CellJob (spec, base folder, results folder,
 * cell id) — everything a worker on any machine needs, given it sees the same file system paths.
 */
export const DEFAULT_QUEUE = "patchbay-cells";

/** How to reach the queue and how long to wait (the Redis executor's and the shards' options). */
export interface RedisExecutorOptions {
  readonly redis: string;
  readonly queue?: string;
  /** attempts per job when a worker crashes (default 3); a stalled job is retried by BullMQ itself */
  readonly attempts?: number;
  /** give up waiting after this long (default: none); fails naming a cell still pending */
  readonly timeoutMs?: number;
  /** how often job states and result files are checked besides queue events (default 1000 ms) */
  readonly pollMs?: number;
  /**
   * fail (CellFailedError, reason "no-worker", naming the queue, the URL and how to start a
   * worker) once no worker has served the queue for this long while cells, shards or ACDC parts
   * wait on it (default 60 000 ms; worker-watch.ts)
   */
  readonly workerGraceMs?: number;
  /**
   * ACDC cells with `split` on one edge setup coordinated at once by the run (default 1; worth
   * more only when the workers idle between a cell's batches: BENCHMARKS.md)
   */
  readonly acdcCells?: number;
  /** progress lines that are not cell events (enqueued, waiting for workers, retries) */
  readonly log?: (line: string) => void;
}

/** The job payload (JSON). */
export type CellJobData = CellJob;

/** A job's return value (JSON): the cell's outcome, and which worker produced it. */
export interface CellJobResult extends CellOutcome {
  readonly worker: string;
}

/** A job's failure reason is this, as JSON, so the run can rebuild a typed CellFailedError. */
export interface CellJobFailure {
  readonly reason: "failed" | "crashed" | "timed-out";
  readonly worker: string;
  readonly cause: ErrorInfo;
}

export const encodeFailure = (f: CellJobFailure): string => JSON.stringify(f);

export const decodeFailure = (s: string | undefined): CellJobFailure => {
  try {
    const f = JSON.parse(s ?? "") as CellJobFailure;
    if (typeof f.reason === "string" && typeof f.cause?._tag === "string") return f;
  } catch {}
  return {
    reason: "crashed",
    worker: "a queue worker",
    cause: { _tag: "Error", message: s ?? "unknown failure" },
  };
};

/**
 * BullMQ connection options from a redis:// URL (host, port, user, password, /db). Bounded: a
 * connection attempt gives up after `connectTimeoutMs`; workers retry forever
 * (`maxRetriesPerRequest: null`, which BullMQ requires for blocking commands).
 */
export const connectionOf = (url: string, connectTimeoutMs = 5000): ConnectionOptions => {
  const u = new URL(url);
  if (u.protocol !== "redis:" && u.protocol !== "rediss:")
    throw new Error(`expected a redis:// URL, found ${JSON.stringify(url)}`);
  const db = u.pathname.replace(/^\//, "");
  return {
    host: u.hostname || "127.0.0.1",
    port: u.port === "" ? 6379 : Number(u.port),
    ...(u.username !== "" ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password !== "" ? { password: decodeURIComponent(u.password) } : {}),
    ...(db !== "" ? { db: Number(db) } : {}),
    ...(u.protocol === "rediss:" ? { tls: {} } : {}),
    connectTimeout: connectTimeoutMs,
    maxRetriesPerRequest: null,
  };
};

/** The URL without its password, for messages. */
export const safeUrl = (url: string): string => {
  try {
    const u = new URL(url);
    if (u.password !== "") u.password = "***";
    return u.toString().replace(/\/$/, "");
  } catch {
    return url;
  }
};

/** Race a promise against a time limit (rejects with a message naming what timed out). */
export const within = <A>(p: Promise<A>, ms: number, what: string): Promise<A> =>
  new Promise<A>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    p.then(
      (a) => {
        clearTimeout(t);
        resolve(a);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });

/**
 * Check that something listens at the URL's host and port (a TCP connect, bounded by `ms`), so
 * an unreachable Redis fails at once instead of leaving ioredis reconnecting.
 */
export const probe = (url: string, ms = 5000): Promise<void> => {
  const u = new URL(url);
  const host = u.hostname || "127.0.0.1";
  const port = u.port === "" ? 6379 : Number(u.port);
  return new Promise<void>((resolve, reject) => {
    const socket = connect({ host, port });
    const t = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connecting to ${host}:${port}: no answer within ${ms} ms`));
    }, ms);
    socket.once("connect", () => {
      clearTimeout(t);
      socket.end();
      resolve();
    });
    socket.once("error", (e) => {
      clearTimeout(t);
      socket.destroy();
      reject(new Error(`connecting to ${host}:${port}: ${e.message}`));
    });
  });
};

/**
 * Queue a job under its content id unless one is already waiting or running: a finished job of an
 * earlier run whose result is not in this store is removed and queued again. Returns whether it
 * was added. Retries (3 by default) are BullMQ's; finished jobs are kept a day, failed ones a week.
 */
export const addOnce = async <D>(
  queue: Queue<D>,
  name: string,
  id: string,
  data: D,
  attempts = 3,
): Promise<boolean> => {
  const existing = (await queue.getJob(id)) as Job<D> | undefined;
  if (existing !== undefined) {
    const state = await existing.getState();
    if (state === "completed" || state === "failed") await existing.remove();
    else return false;
  }
  await (queue as Queue).add(name, data, {
    jobId: id,
    attempts,
    backoff: { type: "fixed", delay: 500 },
    removeOnComplete: { age: 24 * 3600 },
    removeOnFail: { age: 7 * 24 * 3600 },
  });
  return true;
};

/**
 * A queue and its events on `url`, both ready (10 s), after `probe` says Redis answers; on failure
 * both are closed before the error is rethrown, so no connection is left retrying.
 */
export const connectQueue = async <D, R>(
  url: string,
  name: string,
): Promise<{ readonly queue: Queue<D, R>; readonly events: QueueEvents }> => {
  await probe(url);
  const connection = connectionOf(url);
  const queue = new Queue<D, R>(name, { connection });
  const events = new QueueEvents(name, { connection });
  queue.on("error", () => {});
  events.on("error", () => {});
  try {
    await within(Promise.all([queue.waitUntilReady(), events.waitUntilReady()]), 10_000, "connecting");
  } catch (e) {
    await Promise.allSettled([within(queue.close(), 2000, "close"), within(events.close(), 2000, "close")]);
    throw e;
  }
  return { queue, events };
};
