import { rmSync } from "node:fs";
import { join } from "node:path";
import { InputError } from "@patchbay/core/errors";
import { Effect } from "effect";
import { type CellSpec, kindOfSpec } from "../kinds/index.ts";
import type { CellRun, ShardKeeper } from "../kinds/kind.ts";
import { storeShards } from "../shards/store.ts";
import type { CellIdentity } from "../results/envelope.ts";
import type { AnyCellResult } from "../kinds/index.ts";
import type { AcdcRowsMaker, BatchMetrics } from "../batches/spec.ts";
import { cellPath, formatCellResult, readCellResult, writeAtomic } from "./store.ts";
import type { CellError } from "./cell-errors.ts";

export type { CellIdentity } from "../results/envelope.ts";

/**
 * One cell, as plain data: all a worker (thread, process or remote) needs. `baseDir` is the folder
 * relative model and task paths are resolved against (the experiment file's folder).
 */
export interface CellInput {
  readonly spec: CellSpec;
  readonly baseDir: string;
  /**
   * A folder the cell may keep resumable state in (ACDC's checkpoint), inside the results store;
   * a rerun of the same cell after a kill continues from it. Removed once the result is stored.
   */
  readonly checkpoints?: string;
  /** Keeps a sharded method's shards in the results store (runCellToStore makes it; not data). */
  readonly keepShards?: ShardKeeper;
  /** Where ACDC with `split` sends its batches' parts (a distributing executor makes it; not data). */
  readonly acdcRows?: AcdcRowsMaker;
}

/**
 * The cell id without running anything: loads the weights and the data (no ORT session).
 *
 * Returns `{ cellId, weightsHash, datasetHash, examples, patchbayVersion }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { rmSync } from "node:fs";
import { join } from "node:path";
 * import { Effect } from "effect";
 * import { cellIdentity, decodeExperiment, expandCells } from "@patchbay/experiments";
 * const dir = mkdtempSync(join(tmpdir(), "exp-"));
 * // a readout experiment built in code: direct logit attribution on the compiled induction model
 * const raw = { name: "doc", kind: "readout", model: "builtin:induction", data: { task: { n: 4 } }, method: { _tag: "dla" } };
 * const loaded = await Effect.runPromise(decodeExperiment(raw, join(dir, "doc.yaml")));
 * const [cell] = await Effect.runPromise(expandCells(loaded));
 * const input = { spec: cell!.spec, baseDir: loaded.baseDir };
 * const id = await Effect.runPromise(cellIdentity(input));
 * assert.equal(id.examples, 4);
 * ```
 */
export const cellIdentity = (input: CellInput): Effect.Effect<CellIdentity, CellError> =>
  kindOfSpec(input.spec).identity(input);

/**
 * Run one cell by its kind (kinds/): open the model, make the data, run the method and build the
 * result. Sessions are released when it ends. A pure function of its serialisable input; writes nothing.
 *
 * Returns `{ result, seconds, files }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { rmSync } from "node:fs";
import { join } from "node:path";
 * import { Effect } from "effect";
 * import { decodeExperiment, expandCells, runCell } from "@patchbay/experiments";
 * const dir = mkdtempSync(join(tmpdir(), "exp-"));
 * // a readout experiment built in code: direct logit attribution on the compiled induction model
 * const raw = { name: "doc", kind: "readout", model: "builtin:induction", data: { task: { n: 4 } }, method: { _tag: "dla" } };
 * const loaded = await Effect.runPromise(decodeExperiment(raw, join(dir, "doc.yaml")));
 * const [cell] = await Effect.runPromise(expandCells(loaded));
 * const input = { spec: cell!.spec, baseDir: loaded.baseDir };
 * const run = await Effect.runPromise(runCell(input));
 * assert.equal(run.result.kind, "readout");
 * ```
 */
export const runCell = (input: CellInput): Effect.Effect<CellRun<AnyCellResult>, CellError> =>
  kindOfSpec(input.spec).run(input) as Effect.Effect<CellRun<AnyCellResult>, CellError>;

/** What a worker reports for one cell (plain data). */
export interface CellOutcome {
  readonly cellId: string;
  /** already in the store: not computed again */
  readonly skipped: boolean;
  readonly seconds: number;
  readonly path: string;
  /** an ACDC batch job's per-example metrics (batches/): returned, not stored */
  readonly metrics?: BatchMetrics;
}

/**
 * Run one cell into the store: skip it when `<results>/cells/<cellId>.json` exists (and parses),
 * else run it and write the result atomically. Serialisable in and out: this is the job a worker
 * thread or queue consumer runs. `cellId`, when given (the id the scheduler computed), is checked.
 *
 * Returns a CellOutcome `{ cellId, skipped, seconds, path }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { rmSync } from "node:fs";
import { join } from "node:path";
 * import { Effect } from "effect";
 * import { cellIdentity, decodeExperiment, expandCells, runCellToStore } from "@patchbay/experiments";
 * const dir = mkdtempSync(join(tmpdir(), "exp-"));
 * // a readout experiment built in code: direct logit attribution on the compiled induction model
 * const raw = { name: "doc", kind: "readout", model: "builtin:induction", data: { task: { n: 4 } }, method: { _tag: "dla" } };
 * const loaded = await Effect.runPromise(decodeExperiment(raw, join(dir, "doc.yaml")));
 * const [cell] = await Effect.runPromise(expandCells(loaded));
 * const input = { spec: cell!.spec, baseDir: loaded.baseDir };
 * const { cellId } = await Effect.runPromise(cellIdentity(input));
 * const store = { ...input, results: join(dir, "results"), cellId };
 * const first = await Effect.runPromise(runCellToStore(store));
 * const again = await Effect.runPromise(runCellToStore(store));
 * assert.equal(first.skipped, false);
 * assert.equal(again.skipped, true); // already in the store
 * ```
 */
export const runCellToStore = (
  input: CellInput & { readonly results: string; readonly cellId?: string },
): Effect.Effect<CellOutcome, CellError> =>
  Effect.gen(function* () {
    const t0 = performance.now();
    if (input.cellId !== undefined && readCellResult(input.results, input.cellId) !== null)
      return { cellId: input.cellId, skipped: true, seconds: 0, path: cellPath(input.results, input.cellId) };
    const checkpoints = input.cellId === undefined ? undefined : checkpointsPath(input.results, input.cellId);
    const keepShards: ShardKeeper = (ids, method) => storeShards(input.results, ids, method);
    const { result, files } = yield* runCell({
      ...input,
      ...(checkpoints === undefined ? {} : { checkpoints }),
      keepShards,
    });
    if (input.cellId !== undefined && result.cellId !== input.cellId)
      return yield* new InputError({
        field: "cellId",
        expected: `${input.cellId} (the scheduler's id; model or task changed while running?)`,
        found: result.cellId,
      });
    const path = cellPath(input.results, result.cellId);
    // the files a cell produced (rotation artifacts) first: a result on disk implies its files are
    for (const f of files) writeAtomic(join(input.results, f.path), f.content);
    writeAtomic(path, formatCellResult(result));
    if (checkpoints !== undefined) rmSync(checkpoints, { recursive: true, force: true });
    return { cellId: result.cellId, skipped: false, seconds: (performance.now() - t0) / 1000, path };
  });

/** The folder a cell's resumable state lives in while it runs: `<results>/checkpoints/<cellId>`. */
const checkpointsPath = (results: string, cellId: string): string => join(results, "checkpoints", cellId);

/**
 * runCellToStore as a Promise (for worker threads: `parentPort.on("message", (m) => runCellJob(m))`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { rmSync } from "node:fs";
import { join } from "node:path";
 * import { Effect } from "effect";
 * import { decodeExperiment, expandCells, runCellJob } from "@patchbay/experiments";
 * const dir = mkdtempSync(join(tmpdir(), "exp-"));
 * // a readout experiment built in code: direct logit attribution on the compiled induction model
 * const raw = { name: "doc", kind: "readout", model: "builtin:induction", data: { task: { n: 4 } }, method: { _tag: "dla" } };
 * const loaded = await Effect.runPromise(decodeExperiment(raw, join(dir, "doc.yaml")));
 * const [cell] = await Effect.runPromise(expandCells(loaded));
 * const input = { spec: cell!.spec, baseDir: loaded.baseDir };
 * const outcome = await runCellJob({ ...input, results: join(dir, "results") });
 * assert.equal(outcome.skipped, false);
 * ```
 */
export const runCellJob = (input: CellInput & { readonly results: string; readonly cellId?: string }) =>
  Effect.runPromise(runCellToStore(input));
