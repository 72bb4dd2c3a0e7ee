import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { AtomicWriteFailure, writeFileAtomicSync } from "@patchbay/core/text";
import type { AnyCellResult } from "../kinds/index.ts";
import { ResultsStoreError, STORE_EXPECTED } from "./errors.ts";
import { processAlive } from "./process.ts";

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
 *
 * Every failure to write (a full or read-only file system, a file where a folder should be, a name
 * too long, a NUL byte) is a ResultsStoreError naming the path; a failed write leaves no temporary
 * file behind.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { join } from "node:path";
 * import { cellsDir } from "@patchbay/experiments";
 *
 * assert.equal(cellsDir("/r"), join("/r", "cells"));
 * ```
 */
export const cellsDir = (results: string): string => join(results, "cells");
/**
 * The file of a cell's result in a results store: `<results>/cells/<cellId>.json`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { join } from "node:path";
 * import { cellPath } from "@patchbay/experiments";
 *
 * assert.equal(cellPath("/r", "abc"), join("/r", "cells", "abc.json"));
 * ```
 */
export const cellPath = (results: string, cellId: string): string => join(results, "cells", `${cellId}.json`);
/**
 * The folder of a run in a results store: `<results>/runs/<runId>`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { join } from "node:path";
 * import { runDir } from "@patchbay/experiments";
 *
 * assert.equal(runDir("/r", "demo-1"), join("/r", "runs", "demo-1"));
 * ```
 */
export const runDir = (results: string, runId: string): string => join(results, "runs", runId);

/** A node fs error as a ResultsStoreError (anything without an errno code is rethrown: a bug). */
export const storeError = (path: string, operation: string, e: unknown): ResultsStoreError => {
  if (e instanceof ResultsStoreError) return e;
  const code = (e as NodeJS.ErrnoException | null)?.code;
  if (typeof code !== "string" || code.startsWith("ERR_")) throw e;
  return new ResultsStoreError({
    path,
    operation,
    code,
    expected: STORE_EXPECTED[code] ?? "a results folder patchbay can write",
  });
};

/** A path with a NUL byte names no file; node would throw a TypeError deep inside fs. */
const checkPath = (path: string, operation: string): void => {
  if (path.includes("\0"))
    throw new ResultsStoreError({ path, operation, code: "NUL", expected: STORE_EXPECTED.NUL! });
};

/**
 * `mkdir -p` that ends: each missing folder from the deepest existing one down is made once, and
 * any failure is final. (node's `mkdirSync(p, {recursive: true})` retries a parent that exists
 * but cannot hold the child — /proc/x — forever, and reports ENOSPC as ENOENT.)
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { existsSync, mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { makeFolder } from "@patchbay/experiments";
 * const deep = join(mkdtempSync(join(tmpdir(), "store-")), "a", "b", "c");
 * makeFolder(deep);
 * assert.ok(existsSync(deep));
 * ```
 */
export const makeFolder = (dir: string): void => {
  const path = resolve(dir);
  checkPath(path, "creating the folder");
  const make = (p: string): void => {
    const parent = dirname(p);
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(p, { throwIfNoEntry: false });
    } catch (e) {
      // a file further up is in the way: name that file
      if ((e as NodeJS.ErrnoException).code === "ENOTDIR" && parent !== p) make(parent);
      throw storeError(p, "creating the folder", e);
    }
    if (st !== undefined) {
      if (st.isDirectory()) return;
      throw new ResultsStoreError({
        path: p,
        operation: "creating the folder",
        code: "ENOTDIR",
        expected: STORE_EXPECTED.ENOTDIR!,
      });
    }
    if (parent !== p) make(parent); // each ancestor once: the walk is as long as the path
    try {
      mkdirSync(p);
    } catch (e) {
      // made by another process in between: fine if it is a folder
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EEXIST" && statSync(p, { throwIfNoEntry: false })?.isDirectory() === true) return;
      throw storeError(p, "creating the folder", e);
    }
  };
  make(path);
};

/**
 * Write `data` to `path` atomically (temp file in the same folder + fsync + rename).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, readFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { writeAtomic } from "@patchbay/experiments";
 * const file = join(mkdtempSync(join(tmpdir(), "store-")), "x.json");
 * writeAtomic(file, "{}\n");
 * assert.equal(readFileSync(file, "utf8"), "{}\n");
 * ```
 */
export const writeAtomic = (path: string, data: string | Uint8Array): void => {
  checkPath(path, "writing");
  makeFolder(dirname(path));
  try {
    writeFileAtomicSync(path, data);
  } catch (e) {
    if (e instanceof AtomicWriteFailure) throw storeError(path, e.step, e.cause);
    throw e;
  }
};

/**
 * Remove temporary files left by killed writers (their pid is gone) in a folder.
 *
 * Returns how many it removed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { removeStaleTemps } from "@patchbay/experiments";
 * const dir = mkdtempSync(join(tmpdir(), "store-"));
 * assert.equal(removeStaleTemps(dir), 0); // nothing left behind
 * ```
 */
export const removeStaleTemps = (dir: string): number => {
  checkPath(dir, "listing");
  if (!existsSync(dir)) return 0;
  let n = 0;
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch (e) {
    throw storeError(dir, "listing", e);
  }
  for (const f of files) {
    const m = /^\.tmp-.*-(\d+)-[0-9a-f]{12}$/.exec(f);
    if (m !== null && !processAlive(Number(m[1]))) {
      try {
        rmSync(join(dir, f), { force: true });
      } catch (e) {
        throw storeError(join(dir, f), "removing a stale temporary file", e);
      }
      n++;
    }
  }
  return n;
};

/**
 * The serialised cell result: JSON with the keys in CellResult's order (built that way), one
 * space of indentation, a final newline; non-finite numbers (e.g. precision of an empty circuit)
 * are written as null. The same cell gives the same bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { Effect } from "effect";
 * import { decodeExperiment, formatCellResult, runExperiment } from "@patchbay/experiments";
 * const dir = mkdtempSync(join(tmpdir(), "exp-"));
 * // a readout experiment built in code: direct logit attribution on the compiled induction model
 * const raw = { name: "doc", kind: "readout", model: "builtin:induction", data: { task: { n: 4 } }, method: { _tag: "dla" } };
 * const loaded = await Effect.runPromise(decodeExperiment(raw, join(dir, "doc.yaml")));
 * const summary = await Effect.runPromise(runExperiment(loaded, { results: join(dir, "results") }));
 * const { result } = summary.cells[0]!;
 * const text = formatCellResult(result);
 * assert.ok(text.endsWith("}\n"));
 * assert.equal(JSON.parse(text).cellId, summary.cells[0]!.cellId);
 * ```
 */
export const formatCellResult = (r: AnyCellResult): string =>
  `${JSON.stringify(r, (_k, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? null : v), 1)}\n`;

/**
 * A finished cell's result, or null when the cell has not finished (or its file does not parse).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { Effect } from "effect";
 * import { decodeExperiment, readCellResult, runExperiment } from "@patchbay/experiments";
 * const dir = mkdtempSync(join(tmpdir(), "exp-"));
 * // a readout experiment built in code: direct logit attribution on the compiled induction model
 * const raw = { name: "doc", kind: "readout", model: "builtin:induction", data: { task: { n: 4 } }, method: { _tag: "dla" } };
 * const loaded = await Effect.runPromise(decodeExperiment(raw, join(dir, "doc.yaml")));
 * const summary = await Effect.runPromise(runExperiment(loaded, { results: join(dir, "results") }));
 * const { result } = summary.cells[0]!;
 * assert.deepEqual(readCellResult(join(dir, "results"), summary.cells[0]!.cellId), JSON.parse(JSON.stringify(result)));
 * assert.equal(readCellResult(join(dir, "results"), "0".repeat(64)), null);
 * ```
 */
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

/**
 * Whether a cell's result is in the store (`<results>/cells/<cellId>.json` exists).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { Effect } from "effect";
 * import { decodeExperiment, hasCell, runExperiment } from "@patchbay/experiments";
 * const dir = mkdtempSync(join(tmpdir(), "exp-"));
 * // a readout experiment built in code: direct logit attribution on the compiled induction model
 * const raw = { name: "doc", kind: "readout", model: "builtin:induction", data: { task: { n: 4 } }, method: { _tag: "dla" } };
 * const loaded = await Effect.runPromise(decodeExperiment(raw, join(dir, "doc.yaml")));
 * const summary = await Effect.runPromise(runExperiment(loaded, { results: join(dir, "results") }));
 * const { result } = summary.cells[0]!;
 * assert.equal(hasCell(join(dir, "results"), summary.cells[0]!.cellId), true);
 * assert.equal(hasCell(join(dir, "results"), "0".repeat(64)), false);
 * ```
 */
export const hasCell = (results: string, cellId: string): boolean => readCellResult(results, cellId) !== null;
