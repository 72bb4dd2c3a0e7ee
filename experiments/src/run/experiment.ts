import { shardsDir } from "../shards/store.ts";
import { join, resolve } from "node:path";
import "@patchbay/zoo"; // registers builtin:<name> model paths with core
import { Cause, Effect, Option } from "effect";
import {
  type CellExecutor,
  type CellJob,
  type ExecutorFailure,
  errorInfo,
  inProcess,
} from "../pool/executor.ts";
import { threadPool } from "../pool/threads.ts";
import type { AnyCellResult } from "../kinds/index.ts";
import type { Cell, LoadedExperiment } from "../spec/load.ts";
import type { ExperimentFileError } from "../spec/schema.ts";
import type { CellOutcome } from "./cell.ts";
import { ResultsStoreError, RunLockedError } from "./errors.ts";
import { canonicalJson, sha256 } from "./hash.ts";
import { acquireRunLock } from "./lock.ts";
import { machineInfo, type RunManifest, readManifest, versionInfo } from "./manifest.ts";
import { type PlannedCell, planCells } from "./plan.ts";
import { resolveResultsDir } from "./results-dir.ts";
import {
  cellPath,
  cellsDir,
  makeFolder,
  readCellResult,
  removeStaleTemps,
  runDir,
  writeAtomic,
} from "./store.ts";
import { formatJsonl, type TableRow, tableRow, toArrow } from "./tables.ts";
import type { CellError } from "./cell-errors.ts";

export { listRuns, machineInfo, type RunListing, type RunManifest, versionInfo } from "./manifest.ts";
export { type PlannedCell, planCells } from "./plan.ts";
export { resolveResultsDir, resultsDirOf } from "./results-dir.ts";

export type RunEvent =
  | { readonly _tag: "planned"; readonly runId: string; readonly total: number; readonly done: number }
  | { readonly _tag: "cell-start"; readonly index: number; readonly total: number; readonly cellId: string }
  | {
      readonly _tag: "cell-done";
      readonly index: number;
      readonly position: number;
      readonly total: number;
      readonly cellId: string;
      readonly seconds: number;
      readonly skipped: boolean;
    };

export interface RunOptions {
  /** the results store; default: the experiment's outputs.results, relative to its file */
  readonly results?: string;
  readonly onEvent?: (e: RunEvent) => void;
  /**
   * Who computes the cells not yet in the store: default `inProcess` (one after another on this
   * thread); `threadPool({ workers })` (pool/) or `redisExecutor({ redis })` (distributed/).
   */
  readonly executor?: CellExecutor;
  /** with no executor: 1 (default) runs in process, N > 1 on a pool of N worker threads */
  readonly workers?: number;
}

export interface RunSummary {
  readonly runId: string;
  readonly results: string;
  readonly manifest: RunManifest;
  readonly cells: readonly {
    readonly cell: Cell;
    readonly cellId: string;
    readonly result: AnyCellResult;
    readonly seconds: number | null;
    readonly skipped: boolean;
  }[];
  readonly rows: readonly TableRow[];
}

const slug = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^-+|-+$/g, "") || "experiment";

/**
 * The run id: `<name>-<sha256 of the cell ids, 12 hex>` — the same experiment resumes the same run.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runIdOf } from "@patchbay/experiments";
 *
 * assert.match(runIdOf("demo", ["a", "b"]), /^demo-[0-9a-f]{12}$/);
 * assert.equal(runIdOf("demo", ["a", "b"]), runIdOf("demo", ["a", "b"]));
 * ```
 */
export const runIdOf = (name: string, cellIds: readonly string[]): string =>
  `${slug(name)}-${sha256(canonicalJson(cellIds)).slice(0, 12)}`;

/** How a run fails: the file, a cell, the executor, the store, or another run holding the lock. */
export type RunFailure =
  | ExperimentFileError
  | CellError
  | ExecutorFailure
  | ResultsStoreError
  | RunLockedError;

const isStoreFailure = (e: unknown): e is ResultsStoreError | RunLockedError =>
  e instanceof ResultsStoreError || e instanceof RunLockedError;

/** A store operation (plain, throwing) as an effect: store failures fail it, anything else is a defect. */
const storeStep = <A>(f: () => A): Effect.Effect<A, ResultsStoreError | RunLockedError> =>
  Effect.suspend(() => {
    try {
      return Effect.succeed(f());
    } catch (e) {
      return isStoreFailure(e) ? Effect.fail(e) : Effect.die(e);
    }
  });

/**
 * Run an experiment (one cell or a sweep) into its results store: cells already in the store are
 * skipped, the others run one after another, each written atomically as it finishes; the manifest
 * is rewritten (atomically) after every cell, so a killed run leaves a consistent store and the
 * next `run` resumes where it stopped. Ends by writing table.jsonl and table.arrow.
 *
 * Before the first cell: the results folder is checked (a path from the file must stay inside its
 * folder or the current directory), every cell planned (models, data, sites: see planCells), and
 * the run's lock taken (lock.ts: a second `run` of the same experiment into the same store fails
 * with RunLockedError instead of computing every cell again). A run that fails after that records
 * the failure in its manifest (status "failed", error), whatever failed.
 *
 * Returns a RunSummary `{ runId, results, manifest, cells: [{ cell, cellId, result, seconds, skipped }] }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { Effect } from "effect";
 * import { decodeExperiment, runExperiment } from "@patchbay/experiments";
 * const dir = mkdtempSync(join(tmpdir(), "exp-"));
 * // a readout experiment built in code: direct logit attribution on the compiled induction model
 * const raw = { name: "doc", kind: "readout", model: "builtin:induction", data: { task: { n: 4 } }, method: { _tag: "dla" } };
 * const loaded = await Effect.runPromise(decodeExperiment(raw, join(dir, "doc.yaml")));
 * const results = join(dir, "results");
 * const first = await Effect.runPromise(runExperiment(loaded, { results }));
 * const again = await Effect.runPromise(runExperiment(loaded, { results }));
 * assert.equal(first.cells[0]!.skipped, false);
 * assert.equal(again.cells[0]!.skipped, true); // resumed: the cell is in the store
 * assert.equal(again.runId, first.runId);
 * ```
 */
export const runExperiment = (
  loaded: LoadedExperiment,
  opts: RunOptions = {},
): Effect.Effect<RunSummary, RunFailure> =>
  Effect.gen(function* () {
    const results = yield* resolveResultsDir(loaded, opts.results);
    const planned = yield* planCells(loaded);
    const runId = runIdOf(
      loaded.name,
      planned.map((p) => p.cellId),
    );
    const dir = runDir(results, runId);
    yield* storeStep(() => makeFolder(dir));
    const lock = yield* storeStep(() => acquireRunLock(join(dir, "run.lock")));
    return yield* runPlanned(loaded, opts, { results, runId, planned, touch: lock.touch }).pipe(
      Effect.ensuring(Effect.sync(() => lock.release())),
    );
  });

/** The run itself, under its lock. */
const runPlanned = (
  loaded: LoadedExperiment,
  opts: RunOptions,
  run: {
    readonly results: string;
    readonly runId: string;
    readonly planned: readonly PlannedCell[];
    readonly touch: () => void;
  },
): Effect.Effect<RunSummary, RunFailure> => {
  const { results, runId, planned } = run;
  const ids = planned.map((p) => p.cellId);
  const dir = runDir(results, runId);
  const manifestPath = join(dir, "manifest.json");
  let status: RunManifest["status"] = "running";
  let error: string | null = null;
  let save = (): void => {};
  let ended = (): void => {};
  const fail = (e: unknown, job?: CellJob) => {
    status = "failed";
    const { _tag, message } = errorInfo(e);
    error ??=
      job === undefined || _tag === "CellFailedError"
        ? `${_tag}: ${message}`
        : `cell ${job.index + 1} (${job.cellId}): ${_tag}: ${message}`;
    ended();
    try {
      save();
    } catch {
      // the store itself failed (full, read-only): the error is reported, the manifest cannot be
    }
  };
  return Effect.gen(function* () {
    removeStaleTemps(cellsDir(results));
    removeStaleTemps(shardsDir(results));
    removeStaleTemps(dir);
    const now = () => new Date().toISOString();
    const previous = readManifest(manifestPath);
    const startedAt = now();
    const cellTimes: Record<string, { seconds: number; finishedAt: string }> = {
      ...(previous?.timings.cells ?? {}),
    };
    const invocation = {
      startedAt,
      finishedAt: null as string | null,
      pid: process.pid,
      computed: 0,
      skipped: 0,
    };
    const invocations = [...(previous?.invocations ?? []), invocation];
    ended = () => {
      invocation.finishedAt = now();
    };
    const manifest = (): RunManifest => ({
      runId,
      status,
      experiment: { file: resolve(loaded.file), name: loaded.name, sha256: loaded.fileHash },
      versions: versionInfo(),
      machine: machineInfo(),
      seeds: loaded.experiment.seeds,
      total: planned.length,
      cells: planned.map((p) => ({
        index: p.cell.index,
        cellId: p.cellId,
        seed: p.cell.spec.seed,
        varying: p.cell.varying,
      })),
      timings: {
        startedAt: previous?.timings.startedAt ?? startedAt,
        updatedAt: now(),
        finishedAt: status === "done" ? now() : null,
        cells: { ...cellTimes },
      },
      invocations: invocations.map((i) => ({ ...i })),
      error,
    });
    save = () => writeAtomic(manifestPath, `${JSON.stringify(manifest(), null, 1)}\n`);
    const done = () => ids.filter((id) => readCellResult(results, id) !== null).length;
    save();
    opts.onEvent?.({ _tag: "planned", runId, total: planned.length, done: done() });
    const outcomes = new Map<string, { skipped: boolean; seconds: number | null }>();
    let position = 0;
    const finish = (index: number, cellId: string, outcome: CellOutcome) => {
      position++;
      if (outcome.skipped) invocation.skipped++;
      else {
        invocation.computed++;
        cellTimes[cellId] = { seconds: outcome.seconds, finishedAt: now() };
      }
      outcomes.set(cellId, { skipped: outcome.skipped, seconds: cellTimes[cellId]?.seconds ?? null });
      run.touch();
      save();
      opts.onEvent?.({
        _tag: "cell-done",
        index,
        position,
        total: planned.length,
        cellId,
        seconds: outcome.skipped ? 0 : outcome.seconds,
        skipped: outcome.skipped,
      });
    };
    const start = (index: number, cellId: string) =>
      opts.onEvent?.({ _tag: "cell-start", index, total: planned.length, cellId });
    // cells already in the store are skipped here; the executor computes the others (once per id)
    const jobs: CellJob[] = [];
    const repeats: (typeof planned)[number][] = [];
    const queued = new Set<string>();
    for (const p of planned) {
      if (readCellResult(results, p.cellId) !== null) {
        start(p.cell.index, p.cellId);
        finish(p.cell.index, p.cellId, {
          cellId: p.cellId,
          skipped: true,
          seconds: 0,
          path: cellPath(results, p.cellId),
        });
      } else if (queued.has(p.cellId)) repeats.push(p);
      else {
        queued.add(p.cellId);
        jobs.push({
          index: p.cell.index,
          cellId: p.cellId,
          input: { ...p.input, results, cellId: p.cellId },
        });
      }
    }
    const executor =
      opts.executor ?? ((opts.workers ?? 1) > 1 ? threadPool({ workers: opts.workers! }) : inProcess);
    yield* executor(jobs, {
      start: (j) => start(j.index, j.cellId),
      done: (j, outcome) => finish(j.index, j.cellId, outcome),
      failed: (j, e) => fail(e, j),
    });
    for (const p of repeats) {
      start(p.cell.index, p.cellId);
      finish(p.cell.index, p.cellId, {
        cellId: p.cellId,
        skipped: true,
        seconds: 0,
        path: cellPath(results, p.cellId),
      });
    }
    const cells = planned.map((p) => ({
      cell: p.cell,
      cellId: p.cellId,
      result: readCellResult(results, p.cellId)!,
      seconds: outcomes.get(p.cellId)?.seconds ?? null,
      skipped: outcomes.get(p.cellId)?.skipped ?? true,
    }));
    const rows = cells.map((c) =>
      tableRow(c.result, c.cell.varying, { index: c.cell.index, seconds: c.seconds }),
    );
    writeAtomic(join(dir, "table.jsonl"), formatJsonl(rows));
    writeAtomic(join(dir, "table.arrow"), toArrow(rows));
    status = "done";
    invocation.finishedAt = now();
    save();
    return { runId, results, manifest: manifest(), cells, rows };
  }).pipe(
    // a store write that failed inside a hook or a cell (ENOSPC, EROFS, …) is a failure, not a defect
    Effect.catchSomeDefect((d) => (isStoreFailure(d) ? Option.some(Effect.fail(d)) : Option.none())),
    // whatever failed — a cell, the executor, the store, a bug — the manifest says so
    Effect.tapErrorCause((cause) => Effect.sync(() => fail(Cause.squash(cause)))),
  );
};
