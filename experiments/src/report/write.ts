import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { InputError } from "@patchbay/core";
import type { Flags } from "@patchbay/core/cli";
import { UsageError } from "@patchbay/core/cli";
import { Effect } from "effect";
import type { CellResult } from "../results/types.ts";
import { type RunManifest, renderCellReport, renderRunReport } from "./render.ts";

/**
 * Reports from a results store laid out as `<results>/cells/<cellId>.json` (one CellResult each)
 * and `<results>/runs/<runId>/manifest.json`: the run page goes to
 * `<results>/runs/<runId>/report.html`, each cell's page to `<results>/cells/<cellId>.html`.
 */
export interface ReportPaths {
  readonly run: string;
  readonly cells: readonly string[];
}

const readJson = (file: string, field: string) =>
  Effect.try({
    try: () => JSON.parse(readFileSync(file, "utf8")) as unknown,
    catch: (e) =>
      new InputError({
        field,
        expected: `a readable JSON file at ${file}`,
        found: e instanceof Error ? e.message : String(e),
      }),
  });

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object";

/** The manifest fields the report needs; cells may be ids or objects with a cellId. */
export const decodeManifest = (v: unknown, file: string): Effect.Effect<RunManifest, InputError> => {
  const bad = (found: string) =>
    new InputError({ field: file, expected: "a run manifest {runId, spec, cells: string[]}", found });
  if (!isObject(v)) return Effect.fail(bad(typeof v));
  if (typeof v.runId !== "string") return Effect.fail(bad(`runId ${JSON.stringify(v.runId)}`));
  if (!Array.isArray(v.cells)) return Effect.fail(bad(`cells ${JSON.stringify(v.cells)}`));
  const cells: string[] = [];
  for (const c of v.cells)
    if (typeof c === "string") cells.push(c);
    else if (isObject(c) && typeof c.cellId === "string") cells.push(c.cellId);
    else return Effect.fail(bad(`a cell entry ${JSON.stringify(c)}`));
  const timings =
    isObject(v.timings) && Object.values(v.timings).every((t) => typeof t === "number")
      ? (v.timings as Record<string, number>)
      : undefined;
  return Effect.succeed({ runId: v.runId, spec: v.spec, cells, ...(timings ? { timings } : {}) });
};

const decodeCell = (v: unknown, file: string): Effect.Effect<CellResult, InputError> =>
  isObject(v) && typeof v.cellId === "string" && Array.isArray(v.edges) && isObject(v.faithfulness)
    ? Effect.succeed(v as unknown as CellResult)
    : Effect.fail(
        new InputError({
          field: file,
          expected: "a CellResult (cellId, edges, faithfulness, …)",
          found: isObject(v) ? `keys ${Object.keys(v).join(", ")}` : typeof v,
        }),
      );

export const writeReport = (resultsDir: string, runId: string): Effect.Effect<ReportPaths, InputError> =>
  Effect.gen(function* () {
    const runDir = join(resultsDir, "runs", runId);
    const manifestFile = join(runDir, "manifest.json");
    const manifest = yield* decodeManifest(yield* readJson(manifestFile, "--run"), manifestFile);
    const results: CellResult[] = [];
    const cells: string[] = [];
    for (const id of manifest.cells) {
      const file = join(resultsDir, "cells", `${id}.json`);
      if (!existsSync(file)) continue; // listed as missing in the run report
      const r = yield* decodeCell(yield* readJson(file, "cell"), file);
      results.push(r);
      const out = join(resultsDir, "cells", `${id}.html`);
      writeFileSync(out, yield* Effect.promise(() => renderCellReport(r)));
      cells.push(out);
    }
    mkdirSync(runDir, { recursive: true });
    const run = join(runDir, "report.html");
    writeFileSync(run, yield* Effect.promise(() => renderRunReport(manifest, results)));
    return { run, cells };
  });

/** `--run` as a run folder (…/runs/<id>), its manifest.json, or a run id under `--results`. */
export const resolveRun = (
  run: string,
  results: string | undefined,
): { resultsDir: string; runId: string } => {
  const p = resolve(run);
  const dir = existsSync(p) && statSync(p).isFile() && basename(p) === "manifest.json" ? dirname(p) : p;
  if (existsSync(join(dir, "manifest.json")))
    return { resultsDir: results ?? dirname(dirname(dir)), runId: basename(dir) };
  return { resultsDir: results ?? "results", runId: run };
};

export const reportFlags = { run: "string", results: "string" } as const;

export const reportUsage = "report --run RUN_DIR_OR_ID [--results DIR]";

/**
 * `patchbay report --run RUN [--results DIR]`: the HTML report of a run (summary of its cells and
 * one section per cell) and one page per cell, written beside the results; prints the paths.
 */
export const reportCommand = (f: Flags) =>
  Effect.gen(function* () {
    if (typeof f.run !== "string" || f.run === "")
      return yield* new UsageError({ message: "--run: expected a run folder or run id" });
    const { resultsDir, runId } = resolveRun(f.run, typeof f.results === "string" ? f.results : undefined);
    const paths = yield* writeReport(resultsDir, runId);
    console.log(`wrote ${paths.run}`);
    console.log(`wrote ${paths.cells.length} cell pages under ${join(resultsDir, "cells")}`);
  });
