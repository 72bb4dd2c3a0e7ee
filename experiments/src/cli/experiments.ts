import { applyHttpAccessFlags, httpAccessFlags, httpAccessUsage } from "./http-access.ts";
import { resolve } from "node:path";
import { ConfigError, RuntimeError } from "@patchbay/core";
import { type Flags, intFlag, numberFlag, UsageError } from "@patchbay/core/cli";
import { Effect } from "effect";
import { listRuns, type RunEvent, type RunSummary, resultsDirOf, runExperiment } from "../run/experiment.ts";
import { expandCells, loadExperiment } from "../spec/load.ts";
import { type ExperimentFileError, isCausalSpec, isReadoutSpec } from "../spec/schema.ts";
import { readoutFigures } from "../results/readout-figures.ts";
import {
  type CausalCellResult,
  type CellResult,
  isCausalResult,
  isReadoutResult,
  type ReadoutCellResult,
} from "../results/types.ts";
import { planCells } from "../run/experiment.ts";
import { redisExecutor } from "../distributed/executor.ts";
import type { CellExecutor, ExecutorFailure } from "../pool/executor.ts";
import { threadPool } from "../pool/threads.ts";
import { reportCommand, reportFlags, reportUsage } from "../report/index.ts";

/**
 * `patchbay validate FILE`, `patchbay run FILE`, `patchbay ls [DIR]` (and the reserved
 * `patchbay report RUN`). The core CLI's flag parser takes no positionals, so `withPositionals`
 * turns `run FILE` into `run --file FILE` before it parses.
 */
const POSITIONAL: Record<string, string> = { validate: "file", run: "file", ls: "dir", report: "run" };

const VALUE_FLAGS = new Set(["--file", "--results", "--dir", "--run"]);

export const withPositionals = (argv: readonly string[]): string[] => {
  const [cmd, ...rest] = argv;
  const flag = cmd === undefined ? undefined : POSITIONAL[cmd];
  if (flag === undefined) return [...argv];
  const i = rest.findIndex((a, k) => !a.startsWith("-") && (k === 0 || !VALUE_FLAGS.has(rest[k - 1]!)));
  if (i < 0) return [...argv];
  return [cmd!, ...rest.slice(0, i), `--${flag}`, rest[i]!, ...rest.slice(i + 1)];
};

/** The CLI shows an experiment-file error with its file, field path, expectation and finding (exit 1). */
const asCliError = (e: ExperimentFileError) =>
  new ConfigError({ file: e.file, field: e.field, expected: e.expected, found: e.found });

const needFile = (f: Flags, name: string, what: string): string => {
  const v = f[name];
  if (typeof v !== "string" || v === "") throw new UsageError({ message: `${what} is required` });
  return v;
};

const fmt = (x: number | null | undefined, d = 3) =>
  x === null || x === undefined || !Number.isFinite(x) ? "—" : x.toFixed(d);

const show = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v));

const table = (
  header: readonly string[],
  rows: readonly (readonly string[])[],
  right: ReadonlySet<number>,
) => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: readonly string[]) =>
    r
      .map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "─".repeat(w))), ...rows.map(line)].join("\n");
};

export const validateFlags = { file: "string", json: "boolean", ids: "boolean" } as const;
export const validateUsage =
  "validate FILE [--ids] [--json]   (prints the expanded cells, or the typed error)";

export const validateCommand = (f: Flags) =>
  Effect.gen(function* () {
    const file = needFile(f, "file", "FILE (an experiment file, YAML or JSON)");
    const loaded = yield* loadExperiment(file).pipe(Effect.mapError(asCliError));
    const cells = yield* expandCells(loaded).pipe(Effect.mapError(asCliError));
    const ids =
      f.ids === true
        ? new Map(
            (yield* planCells(loaded).pipe(
              Effect.mapError((e) => (e._tag === "ExperimentFileError" ? asCliError(e) : e)),
            )).map((p) => [p.cell.index, p.cellId]),
          )
        : null;
    if (f.json === true) {
      console.log(
        JSON.stringify(
          cells.map((c) => ({
            index: c.index,
            varying: c.varying,
            spec: c.spec,
            ...(ids ? { cellId: ids.get(c.index) } : {}),
          })),
          null,
          1,
        ),
      );
      return;
    }
    console.log(
      `${file}: valid; ${cells.length} cell${cells.length === 1 ? "" : "s"} (${loaded.name}); results → ${resultsDirOf(loaded)}`,
    );
    for (const c of cells) {
      const v = Object.entries(c.varying)
        .map(([k, x]) => `${k}=${show(x)}`)
        .join(" ");
      const spec = c.spec;
      const m = spec.method;
      const params = Object.entries(m)
        .filter(([k]) => k !== "_tag")
        .map(([k, x]) => `${k}=${show(x)}`)
        .join(",");
      const id = ids ? ids.get(c.index)!.slice(0, 12) : c.specHash.slice(0, 12);
      const what = isReadoutSpec(spec)
        ? `${m._tag}${params ? `(${params})` : ""} ${spec.model} [${
            spec.data.kind === "task"
              ? `${spec.data.builtin} n=${spec.data.n} seed=${spec.data.seed}`
              : spec.data.kind === "texts"
                ? `${spec.data.texts.length} texts`
                : `${spec.data.example} n=${spec.data.n} seed=${spec.data.seed}`
          }]`
        : isCausalSpec(spec)
          ? `${m._tag}${params ? `(${params})` : ""} ${spec.model ?? "(task network)"} [${spec.task.builtin} ${spec.task.family ?? "(first family)"} n=${spec.task.n} seed=${spec.task.seed}]`
          : `${m._tag}${params ? `(${params})` : ""} ${spec.ablation} ${spec.metric} ${spec.model} [${
              spec.task.kind === "file"
                ? spec.task.file
                : `${spec.task.builtin} n=${spec.task.n} seed=${spec.task.seed}`
            }]`;
      console.log(`  cell ${c.index + 1}/${cells.length} ${id}  ${what}${v ? `  ${v}` : ""}`);
    }
  });

export const runFlags = {
  file: "string",
  results: "string",
  quiet: "boolean",
  json: "boolean",
  workers: "string",
  redis: "string",
  queue: "string",
  timeout: "string",
  ...httpAccessFlags,
} as const;
export const runUsage = `run FILE [--results DIR] [--workers N | --redis URL [--queue NAME] [--timeout S]] ${httpAccessUsage} [--json]   (one run or a sweep; resumes: finished cells are skipped; --workers: N worker threads; --redis: cells computed by \`patchbay worker\`s; --http-*: hosts an HTTP neuron explainer may call and the variable holding its key)`;

/** --workers N (threads in this process) or --redis URL (queue workers); default in process. */
const executorOf = (f: Flags): CellExecutor | undefined => {
  const workers = intFlag(f, "workers", 1, 1);
  if (typeof f.redis === "string") {
    if (f.workers !== undefined)
      throw new UsageError({
        message: "--workers and --redis exclude each other (queue workers set their own --concurrency)",
      });
    const timeout = f.timeout === undefined ? undefined : numberFlag(f, "timeout", 0, 0);
    return redisExecutor({
      redis: f.redis,
      ...(typeof f.queue === "string" ? { queue: f.queue } : {}),
      ...(timeout !== undefined ? { timeoutMs: timeout * 1000 } : {}),
      ...(f.quiet === true ? {} : { log: (line: string) => process.stderr.write(`${line}\n`) }),
    });
  }
  return workers > 1 ? threadPool({ workers }) : undefined;
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

const bar = (done: number, total: number, width = 28) => {
  const k = total === 0 ? width : Math.round((done / total) * width);
  return `[${"█".repeat(k)}${"░".repeat(width - k)}]`;
};

const seconds = (s: number) =>
  s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;

/** Progress on stderr: a bar with ETA redrawn in place on a TTY, else one plain line per cell. */
export const progressReporter = (stream: NodeJS.WriteStream = process.stderr) => {
  const tty = stream.isTTY === true;
  const t0 = performance.now();
  let computed = 0;
  let computedSeconds = 0;
  let total = 0;
  let doneCount = 0;
  let current = "";
  const draw = () => {
    const left = total - doneCount;
    const eta = computed > 0 ? `ETA ${seconds((computedSeconds / computed) * left)}` : "ETA —";
    stream.write(
      `\r\x1b[2K${bar(doneCount, total)} ${doneCount}/${total}  ${eta}  elapsed ${seconds((performance.now() - t0) / 1000)}${current ? `  ${current}` : ""}`,
    );
  };
  return (e: RunEvent) => {
    switch (e._tag) {
      case "planned":
        total = e.total;
        if (!tty) stream.write(`run ${e.runId}: ${e.total} cells, ${e.done} already done\n`);
        else draw();
        return;
      case "cell-start":
        current = `cell ${e.index + 1} ${e.cellId.slice(0, 12)}…`;
        if (tty) draw();
        return;
      case "cell-done":
        doneCount = e.position;
        if (!e.skipped) {
          computed++;
          computedSeconds += e.seconds;
        }
        current = "";
        if (tty) {
          draw();
          if (doneCount === total) stream.write("\n");
        } else
          stream.write(
            `cell ${e.position}/${e.total} ${e.cellId.slice(0, 12)} ${e.skipped ? "skipped (already in the store)" : `done in ${e.seconds.toFixed(1)} s`}\n`,
          );
    }
  };
};

const timeOf = (c: RunSummary["cells"][number]): string =>
  c.skipped ? "cached" : c.seconds === null ? "—" : `${c.seconds.toFixed(2)} s`;

/** A causal run's summary: IIA (or the sweep's best and MIB mean/max, or DAS and its controls). */
const causalSummary = (s: RunSummary, keys: readonly string[]): string => {
  const header = [
    "cell",
    "id",
    ...keys,
    "method",
    "IIA",
    "where",
    "MIB mean",
    "MIB max",
    "DAS train",
    "DAS test",
    "random model",
    "random rotation",
    "full",
    "time",
  ];
  const rows = s.cells.map((c) => {
    const r = c.result as CausalCellResult;
    return [
      String(c.cell.index + 1),
      c.cellId.slice(0, 12),
      ...keys.map((k) => (k in c.cell.varying ? show(c.cell.varying[k]) : "")),
      r.method,
      fmt(r.iia?.accuracy ?? r.sweep?.best.iia ?? r.das?.iia.test),
      r.sweep !== null
        ? `${r.sweep.best.site} @ ${r.sweep.best.position}`
        : r.das !== null
          ? `${r.das.site} @ ${r.das.positions.join(",")}`
          : "",
      fmt(r.sweep?.mean),
      fmt(r.sweep?.max),
      fmt(r.das?.iia.train),
      fmt(r.das?.iia.test),
      fmt(r.das?.controls?.randomModel.test),
      fmt(r.das?.controls?.randomRotation),
      fmt(r.das?.controls?.fullComponent),
      timeOf(c),
    ];
  });
  const right = new Set(
    header.map((_, i) => i).filter((i) => i === 0 || (i >= 4 + keys.length && i !== 5 + keys.length)),
  );
  // drop the columns no cell of this run fills (an iia run has no DAS or MIB columns)
  const keep = header.map((_, i) => i < 4 + keys.length || rows.some((r) => r[i] !== "—" && r[i] !== ""));
  const pick = <T>(xs: readonly T[]) => xs.filter((_, i) => keep[i]);
  const kept = header.map((_, i) => i).filter((i) => keep[i]);
  return table(pick(header), rows.map(pick), new Set(kept.flatMap((i, j) => (right.has(i) ? [j] : []))));
};

/**
 * A readout run's summary: per cell its method, headline figure and the method's key figures
 * (readout-figures.ts) as `k=v` pairs.
 */
const readoutSummary = (s: RunSummary, keys: readonly string[]): string => {
  const header = ["cell", "id", ...keys, "method", "headline", "value", "key figures", "time"];
  const rows = s.cells.map((c) => {
    if (!isReadoutResult(c.result))
      return [
        String(c.cell.index + 1),
        c.cellId.slice(0, 12),
        ...keys.map(() => ""),
        "(not a readout)",
        "",
        "",
        "",
        timeOf(c),
      ];
    const r = c.result as ReadoutCellResult;
    const { headlineLabel, headline, ...figures } = readoutFigures(r);
    const shown = Object.entries(figures)
      .filter(([, v]) => v !== null)
      .map(
        ([k, v]) =>
          `${k}=${typeof v === "number" ? (Number.isInteger(v) ? String(v) : fmt(v)) : String(v).length > 40 ? `${String(v).slice(0, 37)}...` : String(v)}`,
      )
      .join(" ");
    return [
      String(c.cell.index + 1),
      c.cellId.slice(0, 12),
      ...keys.map((k) => (k in c.cell.varying ? show(c.cell.varying[k]) : "")),
      r.method,
      headlineLabel,
      fmt(headline),
      shown,
      timeOf(c),
    ];
  });
  return table(header, rows, new Set([0, 4 + keys.length]));
};

export const summaryTable = (s: RunSummary): string => {
  const keys = [...new Set(s.cells.flatMap((c) => Object.keys(c.cell.varying)))];
  if (s.cells.some((c) => isReadoutResult(c.result))) return readoutSummary(s, keys);
  if (s.cells.some((c) => isCausalResult(c.result))) return causalSummary(s, keys);
  const circuit = s.cells.map((c) => c.result as CellResult);
  const anyTruth = circuit.some((r) => r.truth !== null);
  const header = [
    "cell",
    "id",
    ...keys,
    keys.includes("method") ? "found by" : "method",
    "edges",
    "faithfulness",
    ...(anyTruth ? ["precision", "recall", "AUC"] : []),
    "time",
  ];
  const rows = s.cells.map((c, i) => {
    const r = circuit[i]!;
    return [
      String(c.cell.index + 1),
      c.cellId.slice(0, 12),
      ...keys.map((k) => (k in c.cell.varying ? show(c.cell.varying[k]) : "")),
      r.method,
      String(r.edges.filter((e) => e.inGraph).length),
      fmt(r.faithfulness.mean),
      ...(anyTruth ? [fmt(r.truth?.precision), fmt(r.truth?.recall), fmt(r.truth?.auc)] : []),
      timeOf(c),
    ];
  });
  const right = new Set(header.map((_, i) => i).filter((i) => i === 0 || i >= 2 + keys.length + 1));
  return table(header, rows, right);
};

export const runCommand = (f: Flags) =>
  Effect.gen(function* () {
    const file = needFile(f, "file", "FILE (an experiment file, YAML or JSON)");
    applyHttpAccessFlags(f);
    const executor = executorOf(f);
    const loaded = yield* loadExperiment(file).pipe(Effect.mapError(asCliError));
    const s = yield* runExperiment(loaded, {
      ...(typeof f.results === "string" ? { results: f.results } : {}),
      ...(f.quiet === true ? {} : { onEvent: progressReporter() }),
      ...(executor !== undefined ? { executor } : {}),
    }).pipe(
      Effect.mapError((e) =>
        e._tag === "ExperimentFileError"
          ? asCliError(e)
          : e._tag === "CellFailedError" || e._tag === "ExecutorError"
            ? asRuntimeError(e)
            : e,
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

export const lsFlags = { dir: "string", json: "boolean" } as const;
export const lsUsage =
  "ls [DIR] [--json]   (runs in a results store, with cells done/total; default DIR: results)";

export const lsCommand = (f: Flags) =>
  Effect.sync(() => {
    const dir = typeof f.dir === "string" ? f.dir : "results";
    const runs = listRuns(dir);
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

/** The experiment commands as a core command table (main.ts adds them to the full CLI). */
export const experimentCommands = {
  validate: { flags: validateFlags, run: validateCommand, usage: validateUsage },
  run: { flags: runFlags, run: runCommand, usage: runUsage },
  ls: { flags: lsFlags, run: lsCommand, usage: lsUsage },
  report: { flags: reportFlags, run: reportCommand, usage: reportUsage },
};
