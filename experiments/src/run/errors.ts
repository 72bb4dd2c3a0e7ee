import { Data } from "effect";

/**
 * The results store cannot be written: a folder that cannot be made (a file in its way, a path
 * under /proc, a name too long), a read-only or full file system, no permission. Names the path,
 * what was being done, node's error code and what the store needs there.
 */
export class ResultsStoreError extends Data.TaggedError("ResultsStoreError")<{
  readonly path: string;
  /** "creating the folder", "writing", "renaming into place", "listing", … */
  readonly operation: string;
  /** node's errno code (ENOSPC, EROFS, ENOTDIR, …), or NUL for a path with a NUL byte */
  readonly code: string;
  readonly expected: string;
}> {
  override get message(): string {
    return `${JSON.stringify(this.path)}: ${this.operation} failed (${this.code}); expected ${this.expected}`;
  }
}

/** Who holds a run's lock: written into the lock file by the process that took it. */
export interface LockOwner {
  readonly pid: number;
  readonly hostname: string;
  readonly startedAt: string;
}

/**
 * Another `run` of the same experiment into the same results store is in progress (its lock is
 * held by a live process, or by one on another host that touched it recently).
 */
export class RunLockedError extends Data.TaggedError("RunLockedError")<{
  readonly lock: string;
  readonly owner: LockOwner | null;
}> {
  override get message(): string {
    const o = this.owner;
    const who =
      o === null
        ? "another process (the lock file is being written)"
        : `pid ${o.pid} on ${o.hostname}, running since ${o.startedAt}`;
    return `${this.lock}: this run is in progress in ${who}; wait for it to finish (\`patchbay ls\` shows its progress), or remove the lock file if that process is gone`;
  }
}

/** What the store needs, per errno code, in words a user can act on. */
export const STORE_EXPECTED: Readonly<Record<string, string>> = {
  ENOSPC: "free space on the device",
  EDQUOT: "free space within the disk quota",
  EROFS: "a writable file system (this one is read-only)",
  EACCES: "permission to write there",
  EPERM: "permission to write there",
  ENOTDIR: "a folder at every step of the path (a file is in the way)",
  EISDIR: "a file name (a folder is in the way)",
  ENAMETOOLONG: "a path whose names are at most 255 bytes",
  ENOENT: "a folder that can be created (the file system there does not hold new folders)",
  ELOOP: "a path without a symbolic-link loop",
  EIO: "a working device",
  NUL: "a path without NUL bytes",
};
