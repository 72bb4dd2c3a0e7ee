import { randomBytes } from "node:crypto";
import {
  closeSync,
  fsyncSync,
  linkSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeSync,
} from "node:fs";
import { hostname } from "node:os";
import { type LockOwner, RunLockedError } from "./errors.ts";
import { processAlive } from "./process.ts";
import { storeError } from "./store.ts";

/**
 * One `run` at a time per run: `<results>/runs/<runId>/run.lock`, created with O_EXCL (the `wx`
 * flag, atomic on local file systems and NFSv3+) and holding the owner's pid, host and start time.
 *
 * Why per run and not per results folder: cells are content-addressed and written atomically, so
 * two different experiments may share a store (and even a cell: both write the same bytes), but
 * two processes on the same run would both compute every cell and overwrite each other's manifest.
 *
 * A lock is stale — and is taken over — when its owner is on this host and its pid is gone, or on
 * another host and the lock was not touched (the owner touches it after every cell) for
 * STALE_AFTER_MS. Takeover renames the stale file away first (atomic: one taker wins), so two
 * processes finding the same stale lock do not both proceed.
 */
export const STALE_AFTER_MS = 24 * 3600 * 1000;

/** A lock file still being written by its creator (between open and write) is this young. */
const WRITING_MS = 10_000;

export interface RunLock {
  readonly path: string;
  readonly owner: LockOwner;
  /** mark the lock as fresh (the owner is alive and working) */
  readonly touch: () => void;
  /** remove the lock, if it is still ours */
  readonly release: () => void;
}

const readOwner = (path: string): { readonly text: string; readonly owner: LockOwner | null } | null => {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw storeError(path, "reading the lock", e);
  }
  try {
    const o = JSON.parse(text) as Partial<LockOwner>;
    return typeof o.pid === "number" && typeof o.hostname === "string" && typeof o.startedAt === "string"
      ? { text, owner: { pid: o.pid, hostname: o.hostname, startedAt: o.startedAt } }
      : { text, owner: null };
  } catch {
    return { text, owner: null };
  }
};

const ageMs = (path: string): number => {
  const st = statSync(path, { throwIfNoEntry: false });
  return st === undefined ? 0 : Date.now() - st.mtimeMs;
};

/** Whether the lock's owner is gone (see the module comment); an unreadable lock is stale once old. */
const isStale = (path: string, owner: LockOwner | null): boolean => {
  if (owner === null) return ageMs(path) > WRITING_MS;
  if (owner.hostname === hostname()) return !processAlive(owner.pid);
  return ageMs(path) > STALE_AFTER_MS;
};

/**
 * Move a stale lock out of the way. Returns false when what was moved turned out not to be the
 * stale lock (another process took it over in between): it is put back and the run is locked.
 */
const takeOver = (path: string, stale: string): boolean => {
  const aside = `${path}.stale-${process.pid}-${randomBytes(6).toString("hex")}`;
  try {
    renameSync(path, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return true; // someone removed it: try again
    throw storeError(path, "taking over a stale lock", e);
  }
  const moved = readOwner(aside);
  if (moved !== null && moved.text !== stale) {
    try {
      linkSync(aside, path); // put the live lock back, unless yet another one was created
    } catch {
      // a newer lock is in place: that one holds
    }
    rmSync(aside, { force: true });
    return false;
  }
  rmSync(aside, { force: true });
  return true;
};

/**
 * Take the run's lock, or fail with RunLockedError naming the lock file and its owner.
 *
 * Returns a RunLock `{ path, owner, touch, release }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { acquireRunLock, RunLockedError } from "@patchbay/experiments";
 * const path = join(mkdtempSync(join(tmpdir(), "run-")), "lock");
 * const lock = acquireRunLock(path);
 * assert.throws(() => acquireRunLock(path), RunLockedError); // held by a live process
 * lock.release();
 * acquireRunLock(path).release();
 * ```
 */
export const acquireRunLock = (path: string): RunLock => {
  const owner: LockOwner = { pid: process.pid, hostname: hostname(), startedAt: new Date().toISOString() };
  const text = `${JSON.stringify(owner)}\n`;
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, "wx");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw storeError(path, "creating the lock", e);
      const held = readOwner(path);
      if (held === null) continue; // released in between
      if (!isStale(path, held.owner)) throw new RunLockedError({ lock: path, owner: held.owner });
      if (!takeOver(path, held.text))
        throw new RunLockedError({ lock: path, owner: readOwner(path)?.owner ?? null });
      continue;
    }
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } catch (e) {
      closeSync(fd);
      rmSync(path, { force: true });
      throw storeError(path, "writing the lock", e);
    }
    closeSync(fd);
    return {
      path,
      owner,
      touch: () => {
        try {
          const now = new Date();
          utimesSync(path, now, now);
        } catch {
          // a lock that cannot be touched is still held; other hosts see it as older
        }
      },
      release: () => {
        try {
          if (readOwner(path)?.text === text) rmSync(path, { force: true });
        } catch {
          // the store became unreadable: the lock is stale once this process is gone
        }
      },
    };
  }
  throw new RunLockedError({ lock: path, owner: readOwner(path)?.owner ?? null });
};
