import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/** A failed atomic write: the path, the step that failed, the system error as `cause`. */
export class AtomicWriteFailure extends Error {
  constructor(
    readonly path: string,
    readonly step: "writing" | "renaming into place",
    override readonly cause: unknown,
  ) {
    super(`${step} ${path}: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

/**
 * Write `data` to `path` so a reader (or a process killed half-way) sees the old file or the new
 * one, never a part: a temporary file beside the target (same folder, so the same file system),
 * written and fsynced, then renamed over it (rename(2) replaces atomically), then the folder
 * fsynced so the rename itself survives a crash. The folder is created when `mkdir` is set. The
 * temporary name is `.tmp-<name>-<pid>-<12 hex>`, so a folder's leftovers from killed writers can
 * be found by pid (experiments' removeStaleTemps). On failure the temporary file is removed and an
 * AtomicWriteFailure says which step failed, with the system error as its cause: callers wrap it
 * in their typed error naming the file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { writeFileAtomicSync } from "@patchbay/core/text";
 *
 * const dir = mkdtempSync(join(tmpdir(), "atomic-"));
 * writeFileAtomicSync(join(dir, "out", "a.json"), '{"ok":true}\n', { mkdir: true });
 * assert.equal(readFileSync(join(dir, "out", "a.json"), "utf8"), '{"ok":true}\n');
 * assert.deepEqual(readdirSync(join(dir, "out")), ["a.json"]); // no temporary file left behind
 * ```
 */
export const writeFileAtomicSync = (
  path: string,
  data: string | Uint8Array,
  opts: { readonly mkdir?: boolean } = {},
): void => {
  const dir = dirname(path);
  if (opts.mkdir) mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.tmp-${basename(path)}-${process.pid}-${randomBytes(6).toString("hex")}`);
  let step: AtomicWriteFailure["step"] = "writing";
  try {
    const fd = openSync(tmp, "w");
    try {
      const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    step = "renaming into place";
    renameSync(tmp, path);
  } catch (e) {
    try {
      rmSync(tmp, { force: true }); // a failed write leaves nothing (and frees the space it took)
    } catch {
      // the folder itself went away or became unwritable: the failure below says so
    }
    throw new AtomicWriteFailure(path, step, e);
  }
  fsyncPath(dir);
};

/**
 * fsync a file, or a folder so a rename in it is durable (a no-op where folders cannot be opened,
 * e.g. Windows).
 */
export const fsyncPath = (path: string): void => {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return;
  }
  try {
    fsyncSync(fd);
  } catch {
    // some file systems refuse fsync on a folder; a rename is still atomic
  } finally {
    closeSync(fd);
  }
};
