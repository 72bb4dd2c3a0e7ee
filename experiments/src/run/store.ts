import { randomBytes } from "node:crypto";
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import type { AnyCellResult } from "../results/types.ts";

/**
 * The results store:
 *
 *     <results>/cells/<cellId>.json          one CellResult per cell, content-addressed
 *     <results>/runs/<runId>/manifest.json   versions, seeds, machine, timings, the cell ids
 *     <results>/runs/<runId>/table.jsonl     one row per cell (swept fields flattened, key metrics)
 *     <results>/runs/<runId>/table.arrow     the same table as Arrow IPC (file format)
 *
 * Every file is written atomically: a temporary `.tmp-<name>-<pid>-<random>` in the same folder,
 * written and fsynced, then renamed over the final name (rename(2) is atomic on one file system),
 * then the folder is fsynced. A reader therefore sees either no file or a complete one; a killed
 * writer leaves only a `.tmp-` file, which never ends in `.json` and is removed by the next run.
 */
export const cellsDir = (results: string): string => join(results, "cells");
export const cellPath = (results: string, cellId: string): string => join(results, "cells", `${cellId}.json`);
export const runDir = (results: string, runId: string): string => join(results, "runs", runId);

const fsyncDir = (dir: string): void => {
  try {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // some platforms cannot fsync a directory; the rename is still atomic
  }
};

/** Write `data` to `path` atomically (temp file in the same folder + fsync + rename). */
export const writeAtomic = (path: string, data: string | Uint8Array): void => {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.tmp-${basename(path)}-${process.pid}-${randomBytes(6).toString("hex")}`);
  const fd = openSync(tmp, "w");
  try {
    const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  fsyncDir(dir);
};

const alive = (pid: number): boolean => {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
};

/** Remove temporary files left by killed writers (their pid is gone) in a folder. */
export const removeStaleTemps = (dir: string): number => {
  if (!existsSync(dir)) return 0;
  let n = 0;
  for (const f of readdirSync(dir)) {
    const m = /^\.tmp-.*-(\d+)-[0-9a-f]{12}$/.exec(f);
    if (m !== null && !alive(Number(m[1]))) {
      rmSync(join(dir, f), { force: true });
      n++;
    }
  }
  return n;
};

/**
 * The serialised cell result: JSON with the keys in CellResult's order (built that way), one
 * space of indentation, a final newline; non-finite numbers (e.g. precision of an empty circuit)
 * are written as null. The same cell gives the same bytes.
 */
export const formatCellResult = (r: AnyCellResult): string =>
  `${JSON.stringify(r, (_k, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? null : v), 1)}\n`;

/** A finished cell's result, or null when the cell has not finished (or its file does not parse). */
export const readCellResult = (results: string, cellId: string): AnyCellResult | null => {
  const p = cellPath(results, cellId);
  if (!existsSync(p)) return null;
  try {
    const r = JSON.parse(readFileSync(p, "utf8")) as AnyCellResult;
    return r.cellId === cellId ? r : null;
  } catch {
    return null;
  }
};

export const hasCell = (results: string, cellId: string): boolean => readCellResult(results, cellId) !== null;
