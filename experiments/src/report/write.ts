import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { InputError } from "@patchbay/core/errors";
import type { Flags } from "@patchbay/core/cli";
import { UsageError } from "@patchbay/core/cli";
import { Effect } from "effect";
import { kindOfDocument } from "../kinds/index.ts";
import type { AnyCellResult } from "../kinds/index.ts";
import { type RunManifest, renderCellReport } from "./render.ts";
import { renderRunReport } from "./run-page.ts";

/**
 * Reports from a results store laid out as `<results>/cells/<cellId>.json` (one CellResult or
 * CausalCellResult each)
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
  // the run store's form: timings.cells[id] = {seconds, finishedAt}
  const perCell = isObject(v.timings) && isObject(v.timings.cells) ? v.timings.cells : {};
  const cellSeconds: Record<string, number> = {};
  for (const [id, t] of Object.entries(perCell))
    if (isObject(t) && typeof t.seconds === "number") cellSeconds[id] = t.seconds;
  return Effect.succeed({
    runId: v.runId,
    // a test fixture carries the spec; the run store names the experiment file (path, name, sha256)
    spec: v.spec ?? v.experiment,
    cells,
    ...(timings ? { timings } : {}),
    ...(Object.keys(cellSeconds).length > 0 ? { cellSeconds } : {}),
  });
};

/** A cell result of the shape its kind (`kind`; absent: circuit) writes (kinds/<kind>: resultProblem). */
const decodeCell = (v: unknown, file: string): Effect.Effect<AnyCellResult, InputError> => {
  const doc: Readonly<Record<string, unknown>> = isObject(v) ? v : {};
  const problem = kindOfDocument(doc).resultProblem(doc);
  return problem === null
    ? Effect.succeed(v as unknown as AnyCellResult)
    : Effect.fail(
        new InputError({
          field: file,
          expected: problem,
          found: isObject(v) ? `keys ${Object.keys(v).join(", ")}` : typeof v,
        }),
      );
};

export const writeReport = (resultsDir: string, runId: string): Effect.Effect<ReportPaths, InputError> =>
  Effect.gen(function* () {
    const runDir = join(resultsDir, "runs", runId);
    const manifestFile = join(runDir, "manifest.json");
    const manifest = yield* decodeManifest(yield* readJson(manifestFile, "--run"), manifestFile);
    const results: AnyCellResult[] = [];
    const cells: string[] = [];
    for (const id of manifest.cells) {
      const file = join(resultsDir, "cells", `${id}.json`);
      if (!existsSync(file)) continue; // listed as missing in the run report
      const r = yield* decodeCell(yield* readJson(file, "cell"), file);
      results.push(r);
      const out = join(resultsDir, "cells", `${id}.html`);
      const seconds = manifest.cellSeconds?.[id] ?? manifest.timings?.[id];
      writeFileSync(
        out,
        yield* Effect.promise(() => renderCellReport(r, seconds === undefined ? {} : { seconds })),
      );
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
    if (f.interactive === true) {
      const { writeInteractive } = yield* Effect.promise(() => import("../serve/static.ts"));
      const out = yield* writeInteractive(resultsDir, runId);
      console.log(
        `wrote ${out.pages.length} live circuit pages: open ${join(out.dir, "index.html")} (no server needed)`,
      );
    }
  });
