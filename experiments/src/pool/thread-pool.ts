import { Worker } from "node:worker_threads";
import type { CellOutcome } from "../run/cell.ts";
import { type CellFailedError, failureOf } from "./executor.ts";
import type { AnyJob, FromWorker, ToWorker } from "./protocol.ts";

/**
 * A pool of worker threads, each running cells (runCellToStore) with its own ORT sessions. ORT's
 * `run` blocks the event loop it is called on, so threads are how one process uses several cores;
 * cells default to one intra-op thread (`runtime.threads: 1`), so N workers keep N cores busy.
 *
 * A worker that crashes (uncaught exception, exit, out of memory) or runs past `timeoutMs` fails
 * the cell it was running with a CellFailedError naming the cell; it is replaced for the next job.
 */
export interface ThreadPoolOptions {
  /** worker threads (≥ 1) */
  readonly size: number;
  /** per-cell limit; the worker is terminated and the cell fails as "timed-out" (default: none) */
  readonly timeoutMs?: number;
  /** the worker module (a .ts one is loaded through tsx); default pool/worker. For tests. */
  readonly entry?: URL;
  /** passed to the worker as workerData.options (for test workers) */
  readonly workerOptions?: unknown;
  /** start every thread now (loading TypeScript and ORT takes seconds) instead of at its first job */
  readonly eager?: boolean;
}

export interface ThreadPool {
  readonly size: number;
  /** Run one job on the next free worker; rejects with a CellFailedError. */
  /** a cell, or a shard of one (shards/) */
  readonly run: (job: AnyJob) => Promise<CellOutcome>;
  /** Terminate every worker (jobs still queued or running are rejected). */
  readonly close: () => Promise<void>;
}

/**
 * The worker module beside this one: worker.ts when patchbay runs from its TypeScript source (tsx,
 * vitest), worker.js from a built package (plain node). A .ts entry starts through boot.mjs, which
 * registers tsx in the thread; a .js entry starts directly (tsx is not a runtime dependency).
 */
const ENTRY = new URL(import.meta.url.endsWith(".ts") ? "./worker.ts" : "./worker.js", import.meta.url);
const BOOT = new URL("./boot.mjs", import.meta.url);

interface Pending {
  readonly job: AnyJob;
  readonly resolve: (o: CellOutcome) => void;
  readonly reject: (e: CellFailedError) => void;
}

interface Slot {
  readonly n: number;
  readonly worker: Worker;
  current: Pending | null;
  timer: ReturnType<typeof setTimeout> | null;
  /** set once the slot is retired (crashed, timed out, closed) */
  dead: boolean;
}

/**
 * A pool of worker threads that run cells (runCellToStore), each with its own ORT sessions: `{ size, run, close }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { Effect } from "effect";
 * import { cellIdentity, createThreadPool, decodeExperiment, expandCells } from "@patchbay/experiments";
 * const dir = mkdtempSync(join(tmpdir(), "exp-"));
 * // a readout experiment built in code: direct logit attribution on the compiled induction model
 * const raw = { name: "doc", kind: "readout", model: "builtin:induction", data: { task: { n: 4 } }, method: { _tag: "dla" } };
 * const loaded = await Effect.runPromise(decodeExperiment(raw, join(dir, "doc.yaml")));
 * const [cell] = await Effect.runPromise(expandCells(loaded));
 * const input = { spec: cell!.spec, baseDir: loaded.baseDir };
 * const { cellId } = await Effect.runPromise(cellIdentity(input));
 * const pool = createThreadPool({ size: 1 });
 * try {
 *   const outcome = await pool.run({ index: 0, cellId, input: { ...input, results: join(dir, "results"), cellId } });
 *   assert.equal(outcome.skipped, false);
 * } finally {
 *   await pool.close();
 * }
 * ```
 */
export const createThreadPool = (opts: ThreadPoolOptions): ThreadPool => {
  const size = Math.max(1, Math.floor(opts.size));
  const queue: Pending[] = [];
  const slots: Slot[] = [];
  let spawned = 0;
  let closed = false;

  const settle = (slot: Slot): Pending | null => {
    const p = slot.current;
    slot.current = null;
    if (slot.timer !== null) clearTimeout(slot.timer);
    slot.timer = null;
    return p;
  };

  const retire = (slot: Slot, reason: CellFailedError["reason"], cause: unknown) => {
    if (slot.dead) return;
    slot.dead = true;
    slots.splice(slots.indexOf(slot), 1);
    const p = settle(slot);
    if (p !== null) p.reject(failureOf(p.job, `worker thread ${slot.n}`, reason, cause));
    void slot.worker.terminate();
    dispatch();
  };

  const spawn = (): Slot => {
    const n = ++spawned;
    const entry = opts.entry ?? ENTRY;
    const worker = new Worker(entry.pathname.endsWith(".ts") ? BOOT : entry, {
      workerData: { entry: entry.href, options: opts.workerOptions ?? null },
    });
    const slot: Slot = { n, worker, current: null, timer: null, dead: false };
    worker.on("message", (m: FromWorker) => {
      const p = slot.current;
      if (p === null || m.cellId !== p.job.cellId) return;
      settle(slot);
      if (m.type === "done") p.resolve(m.outcome);
      else p.reject(failureOf(p.job, `worker thread ${n}`, m.typed ? "failed" : "crashed", m.error));
      dispatch();
    });
    worker.on("error", (e) => retire(slot, "crashed", e));
    worker.on("exit", (code) =>
      retire(slot, "crashed", { _tag: "WorkerExit", message: `worker thread exited with code ${code}` }),
    );
    slots.push(slot);
    return slot;
  };

  const dispatch = () => {
    if (closed) return;
    while (queue.length > 0) {
      const slot = slots.find((s) => s.current === null && !s.dead) ?? (slots.length < size ? spawn() : null);
      if (slot === null) return;
      const p = queue.shift()!;
      slot.current = p;
      if (opts.timeoutMs !== undefined)
        slot.timer = setTimeout(
          () =>
            retire(slot, "timed-out", {
              _tag: "Timeout",
              message: `no result after ${opts.timeoutMs} ms; the worker was terminated`,
            }),
          opts.timeoutMs,
        );
      slot.worker.postMessage({ type: "job", job: p.job } satisfies ToWorker);
    }
  };

  if (opts.eager === true) while (slots.length < size) spawn();

  return {
    size,
    run: (job) =>
      new Promise<CellOutcome>((resolve, reject) => {
        if (closed) {
          reject(failureOf(job, "a closed thread pool", "crashed", new Error("the pool is closed")));
          return;
        }
        queue.push({ job, resolve, reject });
        dispatch();
      }),
    close: async () => {
      closed = true;
      for (const p of queue.splice(0))
        p.reject(
          failureOf(
            p.job,
            "the thread pool",
            "crashed",
            new Error("the pool was closed before the cell ran"),
          ),
        );
      const all = slots.splice(0);
      for (const s of all) {
        s.dead = true;
        const p = settle(s);
        if (p !== null)
          p.reject(
            failureOf(
              p.job,
              `worker thread ${s.n}`,
              "crashed",
              new Error("the pool was closed while the cell ran"),
            ),
          );
      }
      await Promise.all(all.map((s) => s.worker.terminate()));
    },
  };
};
