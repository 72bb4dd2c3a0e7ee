import { resolve } from "node:path";
import { RuntimeError } from "@patchbay/core/errors";
import { type Flags, intFlag, numberFlag, UsageError } from "@patchbay/core/cli";
import { Effect } from "effect";
import { redisExecutor } from "../distributed/executor.ts";
import type { CellExecutor, ExecutorFailure } from "../pool/executor.ts";
import { threadPool } from "../pool/threads.ts";
import { ResultsStoreError } from "../run/errors.ts";
import { listRuns, planCells, resolveResultsDir, runExperiment } from "../run/experiment.ts";
import { DEFAULT_LIMITS, LIMIT_FLAGS, type Limits } from "../spec/limits.ts";
import { type Cell, expandCells, loadExperiment } from "../spec/load.ts";
import { kindOfSpec } from "../kinds/index.ts";
import { applyHttpAccessFlags } from "./http-access.ts";
import { progressReporter } from "./progress.ts";
import { summaryTable } from "./summary.ts";
import { show, table } from "./table.ts";

export { progressReporter } from "./progress.ts";
export { summaryTable } from "./summary.ts";

/**
 * `patchbay validate FILE`, `patchbay run FILE`, `patchbay ls [DIR]`: what they run (their flags,
 * usage and positionals are in commands.ts).
 */

const needFile = (f: Flags, name: string, what: string): string => {
  const v = f[name];
  if (typeof v !== "string" || v === "") throw new UsageError({ message: `${what} is required` });
  return v;
};

const limitsOf = (f: Flags): Limits => {
  const one = (key: keyof Limits) => intFlag(f, LIMIT_FLAGS[key].slice(2), DEFAULT_LIMITS[key], 1);
  return { cells: one("cells"), seeds: one("seeds"), examples: one("examples"), fileBytes: one("fileBytes") };
};

/** One line per cell: index, id, method and its parameters, model, data, swept values. */
const describeCell = (c: Cell, total: number, id: string): string => {
  const v = Object.entries(c.varying)
    .map(([k, x]) => `${k}=${show(x)}`)
    .join(" ");
  const spec = c.spec;
  const m = spec.method;
  const params = Object.entries(m)
    .filter(([k]) => k !== "_tag")
    .map(([k, x]) => `${k}=${show(x)}`)
    .join(",");
  const what = `${m._tag}${params ? `(${params})` : ""} ${kindOfSpec(spec).describe(spec)}`;
  return `  cell ${c.index + 1}/${total} ${id}  ${what}${v ? `  ${v}` : ""}`;
};

export const validateCommand = (f: Flags) =>
  Effect.gen(function* () {
    const file = needFile(f, "file", "FILE (an experiment file, YAML or JSON)");
    const loaded = yield* loadExperiment(file, limitsOf(f));
    const results = yield* resolveResultsDir(loaded, typeof f.results === "string" ? f.results : undefined);
    const schemaOnly = f["schema-only"] === true;
    // --ids (print cell ids) is what validate does now; with --schema-only there are none to print
    if (schemaOnly && f.ids === true)
      throw new UsageError({ message: "--ids needs the models and data: drop --schema-only" });
    // the same planning as `run`: the ids printed are the ids run uses
    const planned = schemaOnly
      ? (yield* expandCells(loaded)).map((cell) => ({ cell, cellId: null }))
      : yield* planCells(loaded);
    if (f.json === true) {
      console.log(
        JSON.stringify(
          planned.map(({ cell: c, cellId }) => ({
            index: c.index,
            varying: c.varying,
            spec: c.spec,
            ...(cellId !== null ? { cellId } : { specHash: c.specHash }),
          })),
          null,
          1,
        ),
      );
      return;
    }
    const n = planned.length;
    console.log(
      `${file}: valid${schemaOnly ? " (schema only: models, data and sites not checked)" : ""}; ${n} cell${n === 1 ? "" : "s"} (${loaded.name}); results → ${results}`,
    );
    if (schemaOnly)
      console.log("  (spec hashes, not cell ids: a cell id also hashes the weights and the data)");
    for (const { cell, cellId } of planned)
      console.log(describeCell(cell, n, (cellId ?? cell.specHash).slice(0, 12)));
  });

/** --workers N (threads in this process) or --redis URL (queue workers); default in process. */
const executorOf = (f: Flags): CellExecutor | undefined => {
  const workers = intFlag(f, "workers", 1, 1);
  const acdcCells = f["acdc-cells"] === undefined ? undefined : intFlag(f, "acdc-cells", 1, 1);
  if (typeof f.redis === "string") {
    if (f.workers !== undefined)
      throw new UsageError({
        message: "--workers and --redis exclude each other (queue workers set their own --concurrency)",
      });
    const timeout = f.timeout === undefined ? undefined : numberFlag(f, "timeout", 0, 0);
    const grace = f["worker-grace"] === undefined ? undefined : numberFlag(f, "worker-grace", 0, 0);
    return redisExecutor({
      redis: f.redis,
      ...(typeof f.queue === "string" ? { queue: f.queue } : {}),
      ...(timeout !== undefined ? { timeoutMs: timeout * 1000 } : {}),
      ...(grace !== undefined ? { workerGraceMs: grace * 1000 } : {}),
      ...(acdcCells !== undefined ? { acdcCells } : {}),
      ...(f.quiet === true || f.json === true
        ? {}
        : { log: (line: string) => process.stderr.write(`${line}\n`) }),
    });
  }
  return workers > 1 ? threadPool({ workers, ...(acdcCells !== undefined ? { acdcCells } : {}) }) : undefined;
};

/** Executor failures as the CLI's typed errors (exit 1, naming the cell or the queue). */
const asRuntimeError = (e: ExecutorFailure) =>
  e._tag === "CellFailedError"
    ? new RuntimeError({
        model: `cell ${e.index + 1} (${e.cellId})`,
        operation: `computing it on ${e.worker}`,
        cause: `${e.reason}: ${e.cause._tag}: ${e.cause.message}`,
      })
    : new RuntimeError({
        model: e.executor,
        operation: e.operation,
        cause: `${e.cause._tag}: ${e.cause.message}`,
      });

export const runCommand = (f: Flags) =>
  Effect.gen(function* () {
    const file = needFile(f, "file", "FILE (an experiment file, YAML or JSON)");
    applyHttpAccessFlags(f);
    const executor = executorOf(f);
    const loaded = yield* loadExperiment(file, limitsOf(f));
    const s = yield* runExperiment(loaded, {
      ...(typeof f.results === "string" ? { results: f.results } : {}),
      // --json: stderr holds nothing but a failure (one JSON object)
      ...(f.quiet === true || f.json === true ? {} : { onEvent: progressReporter() }),
      ...(executor !== undefined ? { executor } : {}),
    }).pipe(
      Effect.mapError((e) =>
        e._tag === "CellFailedError" || e._tag === "ExecutorError" ? asRuntimeError(e) : e,
      ),
    );
    if (f.json === true) {
      console.log(JSON.stringify({ runId: s.runId, results: s.results, rows: s.rows }, null, 1));
      return;
    }
    console.log(summaryTable(s));
    console.log(`\nrun ${s.runId}: ${s.cells.length} cells in ${resolve(s.results)}`);
    console.log(`  cells/<id>.json · runs/${s.runId}/{manifest.json,table.jsonl,table.arrow}`);
  });

export const lsCommand = (f: Flags) =>
  Effect.gen(function* () {
    const dir = typeof f.dir === "string" ? f.dir : "results";
    const runs = yield* Effect.suspend(() => {
      try {
        return Effect.succeed(listRuns(dir));
      } catch (e) {
        return e instanceof ResultsStoreError ? Effect.fail(e) : Effect.die(e);
      }
    });
    if (f.json === true) {
      console.log(JSON.stringify(runs, null, 1));
      return;
    }
    if (runs.length === 0) {
      console.log(`${dir}: no runs`);
      return;
    }
    console.log(
      table(
        ["run", "experiment", "status", "cells", "updated"],
        runs.map((r) => [r.runId, r.name, r.status, `${r.done}/${r.total}`, r.updatedAt ?? "—"]),
        new Set([3]),
      ),
    );
  });
