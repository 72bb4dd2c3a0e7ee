import { dirname, join } from "node:path";
import { GRANULARITIES } from "@patchbay/core/edges";
import { MetricKind } from "@patchbay/core/engine";
import { EdgeAblation } from "@patchbay/core/patching";
import { Data, Effect, Schema } from "effect";
import type { SetupSpec } from "../kinds/circuit/cell.ts";
import { listRuns, readManifest } from "../run/manifest.ts";
import { cellPath, readCellResult } from "../run/store.ts";
import { decodeDocument } from "../spec/parse.ts";
import { type ExperimentFileError, Runtime } from "../spec/schema.ts";

/** What the explorer was asked for and cannot give: HTTP status, the field or path, expected, found. */
export class ServeError extends Data.TaggedError("ServeError")<{
  readonly status: 400 | 404 | 413 | 422;
  readonly field: string;
  readonly expected: string;
  readonly found: string;
}> {
  override get message(): string {
    return `${this.field}: expected ${this.expected}, found ${this.found}`;
  }
}

/** Cell ids are content hashes: lowercase hex (never a path). */
export const CELL_ID = /^[0-9a-f]{16,128}$/;

/**
 * The part of a stored circuit cell's spec live patching reads (a results folder may come from
 * someone else: the spec is decoded like an experiment file's, errors name `cells/<id>.json` and
 * the field).
 */
const StoredSetup = Schema.Struct({
  model: Schema.String,
  task: Schema.Union(
    Schema.Struct({
      kind: Schema.Literal("builtin"),
      builtin: Schema.String,
      n: Schema.Int.pipe(Schema.positive()),
      seed: Schema.Int,
      options: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
    }),
    Schema.Struct({ kind: Schema.Literal("file"), file: Schema.String }),
  ),
  ablation: EdgeAblation,
  metric: MetricKind,
  granularity: Schema.Literal(...GRANULARITIES),
  runtime: Runtime,
});

const SETUP_FIELDS = ["model", "task", "ablation", "metric", "granularity", "runtime"] as const;

/** A stored circuit cell, by id: its result, and what live patching opens (spec, base folder). */
export const liveSource = (
  results: string,
  cellId: string,
): Effect.Effect<{ spec: SetupSpec; baseDir: string; edges: number }, ServeError | ExperimentFileError> =>
  Effect.gen(function* () {
    if (!CELL_ID.test(cellId))
      return yield* new ServeError({
        status: 404,
        field: "cell",
        expected: "a cell id (hex)",
        found: JSON.stringify(cellId),
      });
    const r = readCellResult(results, cellId) as unknown as Record<string, unknown> | null;
    if (r === null)
      return yield* new ServeError({
        status: 404,
        field: "cell",
        expected: `a cell in ${results}/cells`,
        found: cellId,
      });
    if ("kind" in r && r.kind !== undefined)
      return yield* new ServeError({
        status: 422,
        field: cellPath(results, cellId),
        expected: "a circuit cell (only circuits can be patched live)",
        found: `kind ${String(r.kind)}`,
      });
    // only the fields live patching reads (the rest of the spec is the discovery's)
    const stored = r.spec !== null && typeof r.spec === "object" ? (r.spec as Record<string, unknown>) : {};
    const subset = Object.fromEntries(SETUP_FIELDS.filter((k) => k in stored).map((k) => [k, stored[k]]));
    const { spec } = yield* decodeDocument(Schema.Struct({ spec: StoredSetup }), cellPath(results, cellId), {
      spec: subset,
    });
    const edges = Array.isArray(r.edges) ? r.edges.length : 0;
    return { spec: spec as SetupSpec, baseDir: experimentFolder(results, cellId) ?? results, edges };
  });

/** The folder of the experiment file of a run holding the cell (relative model and task paths resolve there). */
const experimentFolder = (results: string, cellId: string): string | null => {
  for (const run of listRuns(results)) {
    const m = readManifest(join(results, "runs", run.runId, "manifest.json"));
    if (m?.cells.some((c) => c.cellId === cellId)) return dirname(m.experiment.file);
  }
  return null;
};
