import { basename, dirname, resolve } from "node:path";
import { Effect } from "effect";
import {
  FORBIDDEN_KEYS,
  FORBIDDEN_KEYS_EXPECTED,
  forbiddenKeyPath,
  forbiddenSegment,
} from "@patchbay/core/text";
import { oneOf } from "@patchbay/core/cli/table";
import { type CellSpec, KINDS, kindOfDocument } from "../kinds/index.ts";
import type { ExperimentOf } from "../kinds/kind.ts";
import { canonicalJson, sha256 } from "../run/hash.ts";
import { checkCellCount, checkExamples, DEFAULT_LIMITS, type Limits } from "./limits.ts";
import { decodeDocument, parseExperimentText, readExperimentFile, show } from "./parse.ts";
import { ExperimentFileError } from "./schema.ts";
export { parseExperimentText } from "./parse.ts";

/** A loaded experiment file: the raw document (sweeps apply to it), its decoded form and where it is. */
export interface LoadedExperiment {
  /** the file as given */
  readonly file: string;
  /** the folder every relative path in it is resolved against */
  readonly baseDir: string;
  readonly name: string;
  /** the parsed document, before decoding (sweep axes are applied to it by dotted path) */
  readonly raw: Readonly<Record<string, unknown>>;
  /** the file decoded by its kind's schema (kinds/<kind>/spec.ts) */
  readonly experiment: ExperimentOf;
  /** sha256 of the file's bytes */
  readonly fileHash: string;
  /** how many cells, seeds and examples it may ask for (default DEFAULT_LIMITS; raised by CLI flags) */
  readonly limits?: Limits;
}

/** One expanded cell: the normalized spec and the sweep values that made it. */
export interface Cell {
  /** 0-based, in expansion order (grid in key order, last key fastest; zip tuples innermost) */
  readonly index: number;
  readonly spec: CellSpec;
  /** the swept fields of this cell, by dotted path (plus `seed` when there are several seeds) */
  readonly varying: Readonly<Record<string, unknown>>;
  /** sha256 of the canonical JSON of `spec` (the cell id also hashes weights, data and version) */
  readonly specHash: string;
}

/** Sweep paths are keys whose segments become keys: none may be forbidden (checked before decoding). */
const checkSweepPaths = (file: string, sweep: unknown): Effect.Effect<void, ExperimentFileError> => {
  if (typeof sweep !== "object" || sweep === null) return Effect.void;
  for (const kind of ["grid", "zip"] as const) {
    const axes = Object.hasOwn(sweep, kind) ? (sweep as Record<string, unknown>)[kind] : undefined;
    if (typeof axes !== "object" || axes === null) continue;
    for (const path of Object.keys(axes))
      if (forbiddenSegment(path) !== null)
        return Effect.fail(
          new ExperimentFileError({
            file,
            field: `sweep.${kind}.${path}`,
            expected: `a dotted field path whose segments are not ${[...FORBIDDEN_KEYS].join(", ")}`,
            found: show(path),
          }),
        );
  }
  return Effect.void;
};

/**
 * Decode an already parsed document (the API for experiments built in code).
 *
 * Returns a LoadedExperiment `{ file, baseDir, name, raw, experiment, fileHash, limits }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { Effect } from "effect";
 * import { decodeExperiment } from "@patchbay/experiments";
 * const dir = mkdtempSync(join(tmpdir(), "exp-"));
 * // a readout experiment built in code: direct logit attribution on the compiled induction model
 * const raw = { name: "doc", kind: "readout", model: "builtin:induction", data: { task: { n: 4 } }, method: { _tag: "dla" } };
 * const loaded = await Effect.runPromise(decodeExperiment(raw, join(dir, "doc.yaml")));
 * assert.equal(loaded.name, "doc");
 * assert.equal(loaded.baseDir, dir); // relative paths in the document are relative to the file
 * const bad = await Effect.runPromiseExit(decodeExperiment({ ...raw, method: { _tag: "nope" } }, join(dir, "doc.yaml")));
 * assert.equal(bad._tag, "Failure");
 * ```
 */
export const decodeExperiment = (
  raw: Record<string, unknown>,
  file: string,
  content: string | Uint8Array = canonicalJson(raw),
  limits: Limits = DEFAULT_LIMITS,
): Effect.Effect<LoadedExperiment, ExperimentFileError> =>
  Effect.gen(function* () {
    // every document, parsed from a file or built in code (YAML keys were also checked with their lines)
    const forbidden = forbiddenKeyPath(raw);
    if (forbidden !== null)
      return yield* new ExperimentFileError({
        file,
        field: forbidden,
        expected: FORBIDDEN_KEYS_EXPECTED,
        found: JSON.stringify(forbidden.split(/[.[]/).at(-1)),
      });
    yield* checkSweepPaths(file, raw.sweep);
    // a million seeds is refused before a million values are decoded
    if (Array.isArray(raw.seeds)) {
      const tooMany = checkCellCount(limits, { seeds: raw.seeds.length, grid: [], zip: 1 });
      if (tooMany !== null) return yield* new ExperimentFileError({ file, ...tooMany });
    }
    // an unknown kind lists every kind (decoded as a circuit file, it would name circuit alone)
    if (raw.kind !== undefined && !KINDS.some((k) => k.name === raw.kind))
      return yield* new ExperimentFileError({
        file,
        field: "kind",
        expected: `one of ${oneOf(KINDS.map((k) => k.name))} (absent: circuit)`,
        found: show(raw.kind),
      });
    const kind = kindOfDocument(raw);
    yield* kind.checkDocument(file, raw, "");
    const experiment: ExperimentOf = yield* decodeDocument(kind.experiment, file, raw);
    const loaded: LoadedExperiment = {
      file,
      baseDir: dirname(resolve(file)),
      name: experiment.name ?? basename(file).replace(/\.(ya?ml|json)$/i, ""),
      raw,
      experiment,
      fileHash: sha256(content),
      limits,
    };
    yield* expandCells(loaded); // every cell must decode: sweep values are checked up front
    return loaded;
  });

/**
 * Read, parse and validate an experiment file (YAML: .yaml/.yml, JSON: .json): a regular file within
 * `limits.fileBytes`, strict UTF-8 (a BOM is stripped), every cell decoded and within the limits.
 *
 * Returns a LoadedExperiment `{ file, baseDir, name, raw, experiment, fileHash, limits }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Effect } from "effect";
 * import { loadExperiment } from "@patchbay/experiments";
 * const loaded = await Effect.runPromise(loadExperiment("experiments/examples/readout-dla.yaml"));
 * assert.equal(loaded.name, "readout-dla");
 * assert.equal((await Effect.runPromiseExit(loadExperiment("no/such/file.yaml")))._tag, "Failure");
 * ```
 */
export const loadExperiment = (
  file: string,
  limits: Limits = DEFAULT_LIMITS,
): Effect.Effect<LoadedExperiment, ExperimentFileError> =>
  Effect.gen(function* () {
    const { bytes, text } = yield* readExperimentFile(file, limits);
    const raw = yield* parseExperimentText(text, file);
    return yield* decodeExperiment(raw, file, bytes, limits);
  });

/** Write `value` at a dotted path, making mappings on the way (paths were checked: no forbidden segment). */
const setPath = (doc: Record<string, unknown>, path: string, value: unknown): void => {
  const keys = path.split(".");
  const bad = forbiddenSegment(path);
  if (bad !== null) throw new Error(`setPath: unchecked path ${JSON.stringify(path)}`); // a bug, not input
  let o: Record<string, unknown> = doc;
  for (const k of keys.slice(0, -1)) {
    const next = Object.hasOwn(o, k) ? o[k] : undefined;
    if (typeof next !== "object" || next === null || Array.isArray(next)) o[k] = {};
    o = o[k] as Record<string, unknown>;
  }
  o[keys.at(-1)!] = value;
};

const clone = <T>(v: T): T => structuredClone(v);

/**
 * The sweep as a list of assignments {path: value}: grid (cartesian, last key fastest) × zip tuples.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { Effect } from "effect";
 * import { decodeExperiment, sweepAssignments } from "@patchbay/experiments";
 * const dir = mkdtempSync(join(tmpdir(), "exp-"));
 * // a readout experiment built in code: direct logit attribution on the compiled induction model
 * const raw = { name: "doc", kind: "readout", model: "builtin:induction", data: { task: { n: 4 } }, method: { _tag: "dla" }, sweep: { grid: { "data.task.n": [2, 4], "runtime.threads": [1, 2] } } };
 * const loaded = await Effect.runPromise(decodeExperiment(raw, join(dir, "doc.yaml")));
 * const a = await Effect.runPromise(sweepAssignments(loaded));
 * assert.equal(a.length, 4); // 2 × 2, the last key fastest
 * assert.deepEqual(a[1], { "data.task.n": 2, "runtime.threads": 2 });
 * ```
 */
export const sweepAssignments = (
  loaded: Pick<LoadedExperiment, "file" | "experiment" | "limits">,
): Effect.Effect<readonly Readonly<Record<string, unknown>>[], ExperimentFileError> =>
  Effect.gen(function* () {
    const { file } = loaded;
    const limits = loaded.limits ?? DEFAULT_LIMITS;
    const sweep = loaded.experiment.sweep;
    const grid = Object.entries(sweep?.grid ?? {});
    const zip = Object.entries(sweep?.zip ?? {});
    const reserved = new Set(["sweep", "seeds", "outputs", "name", "description", "$schema"]);
    for (const [kind, axes] of [
      ["grid", grid],
      ["zip", zip],
    ] as const) {
      for (const [path, values] of axes) {
        const field = `sweep.${kind}.${path}`;
        if (path === "" || path.split(".").some((k) => k === ""))
          return yield* new ExperimentFileError({
            file,
            field,
            expected: "a dotted field path",
            found: show(path),
          });
        if (reserved.has(path.split(".")[0]!))
          return yield* new ExperimentFileError({
            file,
            field,
            expected: `a cell field (not ${[...reserved].join(", ")}; sweep seeds with "seed")`,
            found: show(path),
          });
        if (values.length === 0)
          return yield* new ExperimentFileError({
            file,
            field,
            expected: "a non-empty list of values",
            found: "[]",
          });
      }
    }
    const both = grid.map(([p]) => p).filter((p) => zip.some(([q]) => q === p));
    if (both.length > 0)
      return yield* new ExperimentFileError({
        file,
        field: `sweep.zip.${both[0]}`,
        expected: "a path swept once (it is also a grid axis)",
        found: show(both[0]),
      });
    if (zip.length > 0) {
      const len = zip[0]![1].length;
      const bad = zip.find(([, v]) => v.length !== len);
      if (bad !== undefined)
        return yield* new ExperimentFileError({
          file,
          field: `sweep.zip.${bad[0]}`,
          expected: `a list of ${len} values (as long as sweep.zip.${zip[0]![0]})`,
          found: `${bad[1].length} values`,
        });
    }
    // the cell count as a product of the axis lengths, before anything is expanded
    const tooMany = checkCellCount(limits, {
      seeds: loaded.experiment.seeds.length,
      grid: grid.map(([, v]) => v.length),
      zip: zip.length > 0 ? zip[0]![1].length : 1,
    });
    if (tooMany !== null) return yield* new ExperimentFileError({ file, ...tooMany });
    let combos: Record<string, unknown>[] = [{}];
    for (const [path, values] of grid)
      combos = combos.flatMap((c) => values.map((v) => ({ ...c, [path]: v })));
    if (zip.length > 0) {
      const len = zip[0]![1].length;
      combos = combos.flatMap((c) =>
        Array.from({ length: len }, (_, i) => ({
          ...c,
          ...Object.fromEntries(zip.map(([p, v]) => [p, v[i]])),
        })),
      );
    }
    return combos;
  });

/**
 * Every cell of the experiment: sweep assignments (× seeds) applied to the raw document by dotted
 * path, each decoded (errors name the sweep value that broke it) and normalized.
 *
 * Returns `{ index, spec, varying, specHash }` per cell.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { Effect } from "effect";
 * import { decodeExperiment, expandCells } from "@patchbay/experiments";
 * const dir = mkdtempSync(join(tmpdir(), "exp-"));
 * // a readout experiment built in code: direct logit attribution on the compiled induction model
 * const raw = { name: "doc", kind: "readout", model: "builtin:induction", data: { task: { n: 4 } }, method: { _tag: "dla" }, sweep: { grid: { "data.task.n": [2, 4] } } };
 * const loaded = await Effect.runPromise(decodeExperiment(raw, join(dir, "doc.yaml")));
 * const cells = await Effect.runPromise(expandCells(loaded));
 * assert.deepEqual(cells.map((c) => c.varying), [{ "data.task.n": 2 }, { "data.task.n": 4 }]);
 * ```
 */
export const expandCells = (loaded: LoadedExperiment): Effect.Effect<readonly Cell[], ExperimentFileError> =>
  Effect.gen(function* () {
    const { file, raw, experiment } = loaded;
    const kind = kindOfDocument(raw);
    const limits = loaded.limits ?? DEFAULT_LIMITS;
    const assignments = yield* sweepAssignments(loaded);
    const seeds = experiment.seeds;
    const base: Record<string, unknown> = clone(raw);
    for (const k of ["$schema", "name", "description", "seeds", "outputs", "sweep"]) delete base[k];
    const cells: Cell[] = [];
    for (const seed of seeds) {
      for (const a of assignments) {
        const doc = clone(base);
        doc.seed = seed;
        for (const [path, value] of Object.entries(a)) setPath(doc, path, clone(value));
        const where = Object.entries(a)
          .map(([p, v]) => `${p}=${show(v)}`)
          .join(", ");
        const prefix = where === "" ? "" : `in the sweep cell ${where}`;
        const spec = yield* kind.decodeCell(file, doc, prefix);
        const big = checkExamples(limits, kind.examples(spec));
        if (big !== null)
          return yield* new ExperimentFileError({
            file,
            ...big,
            field: prefix === "" ? big.field : `${big.field} (${prefix})`,
          });
        const varying: Record<string, unknown> = { ...a };
        if (seeds.length > 1 && !("seed" in a)) varying.seed = seed;
        cells.push({ index: cells.length, spec, varying, specHash: sha256(canonicalJson(spec)) });
      }
    }
    return cells;
  });
