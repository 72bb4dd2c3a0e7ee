import { existsSync, readdirSync, readFileSync } from "node:fs";
import { cpus, platform, release, totalmem, arch } from "node:os";
import { join, resolve } from "node:path";
import type { PatchbayError } from "@patchbay/core";
import { Effect } from "effect";
import type { AnyCellResult } from "../results/types.ts";
import { type Cell, expandCells, type LoadedExperiment } from "../spec/load.ts";
import type { ExperimentFileError } from "../spec/schema.ts";
import {
  type CellExecutor,
  type ExecutorFailure,
  type CellJob,
  errorInfo,
  inProcess,
} from "../pool/executor.ts";
import { threadPool } from "../pool/threads.ts";
import { type CellInput, type CellOutcome, cellIdentity } from "./cell.ts";
import { canonicalJson, onnxruntimeVersion, patchbayVersion, sha256 } from "./hash.ts";
import { cellPath, cellsDir, readCellResult, removeStaleTemps, runDir, writeAtomic } from "./store.ts";
import { formatJsonl, type TableRow, tableRow, toArrow } from "./tables.ts";

/** `<results>/runs/<runId>/manifest.json`. Timestamps and timings live here, never in cell files. */
export interface RunManifest {
  readonly runId: string;
  readonly status: "running" | "done" | "failed";
  readonly experiment: { readonly file: string; readonly name: string; readonly sha256: string };
  readonly versions: { readonly node: string; readonly onnxruntimeNode: string; readonly patchbay: string };
  readonly machine: {
    readonly os: string;
    readonly arch: string;
    readonly cpus: number;
    readonly cpuModel: string;
    readonly memoryBytes: number;
  };
  /** the experiment's replicate seeds, and each cell's seed */
  readonly seeds: readonly number[];
  readonly total: number;
  readonly cells: readonly {
    readonly index: number;
    readonly cellId: string;
    readonly seed: number;
    readonly varying: Readonly<Record<string, unknown>>;
  }[];
  readonly timings: {
    readonly startedAt: string;
    readonly updatedAt: string;
    readonly finishedAt: string | null;
    /** per cell id: seconds it took when computed, and when */
    readonly cells: Readonly<Record<string, { readonly seconds: number; readonly finishedAt: string }>>;
  };
  /** every `run` of this experiment: when, which process, cells computed and skipped */
  readonly invocations: readonly {
    readonly startedAt: string;
    readonly finishedAt: string | null;
    readonly pid: number;
    readonly computed: number;
    readonly skipped: number;
  }[];
  readonly error: string | null;
}

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

export const resultsDirOf = (loaded: LoadedExperiment, override?: string): string =>
  override !== undefined ? resolve(override) : resolve(loaded.baseDir, loaded.experiment.outputs.results);

const slug = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^-+|-+$/g, "") || "experiment";

/** The run id: `<name>-<sha256 of the cell ids, 12 hex>` — the same experiment resumes the same run. */
export const runIdOf = (name: string, cellIds: readonly string[]): string =>
  `${slug(name)}-${sha256(canonicalJson(cellIds)).slice(0, 12)}`;

export const machineInfo = (): RunManifest["machine"] => ({
  os: `${platform()} ${release()}`,
  arch: arch(),
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model ?? "unknown",
  memoryBytes: totalmem(),
});

export const versionInfo = (): RunManifest["versions"] => ({
  node: process.version,
  onnxruntimeNode: onnxruntimeVersion(),
  patchbay: patchbayVersion(),
});

const alive = (pid: number): boolean => {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
};

const readManifest = (path: string): RunManifest | null => {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as RunManifest;
  } catch {
    return null;
  }
};

/** The cells with their ids (loads each model's weights and task to hash them; no session). */
export const planCells = (
  loaded: LoadedExperiment,
): Effect.Effect<
  readonly { readonly cell: Cell; readonly input: CellInput; readonly cellId: string }[],
  ExperimentFileError | PatchbayError
> =>
  Effect.gen(function* () {
    const cells = yield* expandCells(loaded);
    const out = [];
    for (const cell of cells) {
      const input: CellInput = { spec: cell.spec, baseDir: loaded.baseDir };
      const id = yield* cellIdentity(input);
      out.push({ cell, input, cellId: id.cellId });
    }
    return out;
  });

/**
 * Run an experiment (one cell or a sweep) into its results store: cells already in the store are
 * skipped, the others run one after another, each written atomically as it finishes; the manifest
 * is rewritten (atomically) after every cell, so a killed run leaves a consistent store and the
 * next `run` resumes where it stopped. Ends by writing table.jsonl and table.arrow.
 */
export const runExperiment = (
  loaded: LoadedExperiment,
  opts: RunOptions = {},
): Effect.Effect<RunSummary, ExperimentFileError | PatchbayError | ExecutorFailure> =>
  Effect.gen(function* () {
    const results = resultsDirOf(loaded, opts.results);
    const planned = yield* planCells(loaded);
    const ids = planned.map((p) => p.cellId);
    const runId = runIdOf(loaded.name, ids);
    const dir = runDir(results, runId);
    const manifestPath = join(dir, "manifest.json");
    removeStaleTemps(cellsDir(results));
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
    let status: RunManifest["status"] = "running";
    let error: string | null = null;
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
    const save = () => writeAtomic(manifestPath, `${JSON.stringify(manifest(), null, 1)}\n`);
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
    const fail = (e: unknown, job?: CellJob) => {
      status = "failed";
      const { _tag, message } = errorInfo(e);
      error ??=
        job === undefined || _tag === "CellFailedError"
          ? `${_tag}: ${message}`
          : `cell ${job.index} (${job.cellId}): ${_tag}: ${message}`;
      invocation.finishedAt = now();
      save();
    };
    const executor =
      opts.executor ?? ((opts.workers ?? 1) > 1 ? threadPool({ workers: opts.workers! }) : inProcess);
    yield* executor(jobs, {
      start: (j) => start(j.index, j.cellId),
      done: (j, outcome) => finish(j.index, j.cellId, outcome),
      failed: (j, e) => fail(e, j),
    }).pipe(Effect.tapError((e) => Effect.sync(() => fail(e))));
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
  });

/** A run in a results store, with its progress. */
export interface RunListing {
  readonly runId: string;
  readonly name: string;
  readonly file: string;
  /** "interrupted": the manifest says running but its process is gone (killed; `run` resumes it) */
  readonly status: RunManifest["status"] | "interrupted" | "unreadable";
  readonly done: number;
  readonly total: number;
  readonly updatedAt: string | null;
}

/** Every run under `<results>/runs/`, with cells done (present in the store) / total. */
export const listRuns = (results: string): readonly RunListing[] => {
  const runs = join(results, "runs");
  if (!existsSync(runs)) return [];
  return readdirSync(runs, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !d.name.startsWith("."))
    .map((d): RunListing => {
      const m = readManifest(join(runs, d.name, "manifest.json"));
      if (m === null)
        return {
          runId: d.name,
          name: "?",
          file: "?",
          status: "unreadable",
          done: 0,
          total: 0,
          updatedAt: null,
        } as const;
      const doneCount = m.cells.filter((c) => existsSync(cellPath(results, c.cellId))).length;
      const last = m.invocations.at(-1);
      const interrupted =
        m.status === "running" && last !== undefined && last.finishedAt === null && !alive(last.pid);
      return {
        runId: m.runId,
        name: m.experiment.name,
        file: m.experiment.file,
        status: interrupted ? ("interrupted" as const) : m.status,
        done: doneCount,
        total: m.total,
        updatedAt: m.timings.updatedAt,
      };
    })
    .sort((a, b) => ((a.updatedAt ?? "") < (b.updatedAt ?? "") ? 1 : -1));
};
