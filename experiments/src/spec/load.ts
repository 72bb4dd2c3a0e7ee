import { readFileSync } from "node:fs";
import { basename, dirname, extname, resolve } from "node:path";
import { Effect, ParseResult, Schema } from "effect";
import {
  FORBIDDEN_KEYS,
  FORBIDDEN_KEYS_EXPECTED,
  forbiddenKeyPath,
  forbiddenSegment,
  isForbiddenKey,
} from "@patchbay/core";
import YAML from "yaml";
import { canonicalJson, sha256 } from "../run/hash.ts";
import type { CausalCellSpec } from "./causal.ts";
import { type ReadoutCellSpec, ReadoutExampleData, ReadoutTaskData, ReadoutTextData } from "./readout.ts";
import {
  type AnyExperiment,
  CausalCellFields,
  CausalExperiment,
  CellFields,
  type CellSpec,
  type CircuitCellSpec,
  Experiment,
  ExperimentFileError,
  isCausalDocument,
  isReadoutDocument,
  ReadoutCellFields,
  ReadoutExperiment,
} from "./schema.ts";

/** A loaded experiment file: the raw document (sweeps apply to it), its decoded form and where it is. */
export interface LoadedExperiment {
  /** the file as given */
  readonly file: string;
  /** the folder every relative path in it is resolved against */
  readonly baseDir: string;
  readonly name: string;
  /** the parsed document, before decoding (sweep axes are applied to it by dotted path) */
  readonly raw: Readonly<Record<string, unknown>>;
  readonly experiment: AnyExperiment;
  /** sha256 of the file's bytes */
  readonly fileHash: string;
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

const show = (v: unknown): string => {
  if (v === undefined) return "nothing";
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 120 ? `${s.slice(0, 117)}...` : s;
};

const pathString = (path: readonly PropertyKey[]): string =>
  path.reduce<string>(
    (acc, k) => (typeof k === "number" ? `${acc}[${k}]` : acc === "" ? String(k) : `${acc}.${String(k)}`),
    "",
  );

const at = (raw: unknown, path: readonly PropertyKey[]): unknown => {
  let v = raw;
  for (const k of path) {
    if (typeof v !== "object" || v === null) return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
};

/** The first issue of a ParseError as {field, expected, found}, with the field path prefixed. */
const fromParseError = (
  file: string,
  e: ParseResult.ParseError,
  raw: unknown,
  prefix = "",
): ExperimentFileError => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(e);
  // the deepest issue names the most precise field
  const issue = [...issues].sort((a, b) => b.path.length - a.path.length)[0]!;
  const field = pathString(issue.path) || "(document)";
  const m = /^Expected (.*), actual (.*)$/s.exec(issue.message);
  const expected =
    issue._tag === "Missing"
      ? "a value (required)"
      : issue._tag === "Unexpected"
        ? "no such field (unknown fields are errors)"
        : m !== null
          ? m[1]!
          : issue.message;
  const others =
    issues.length > 1 ? ` (and ${issues.length - 1} more issue${issues.length > 2 ? "s" : ""})` : "";
  return new ExperimentFileError({
    file,
    field: prefix === "" ? field : `${field} (${prefix})`,
    expected,
    found: `${show(at(raw, issue.path))}${others}`,
  });
};

const decodeOptions = { errors: "all", onExcessProperty: "error" } as const;

/**
 * A readout document's `data` decoded against the form its key selects (task, texts or example):
 * the union would otherwise report every member's complaint, and the deepest of them names the
 * wrong form's fields.
 */
const checkReadoutData = (
  file: string,
  doc: Readonly<Record<string, unknown>>,
  prefix = "",
): Effect.Effect<void, ExperimentFileError> => {
  const d = doc.data;
  if (typeof d !== "object" || d === null || Array.isArray(d)) return Effect.void;
  const form =
    "task" in d
      ? ReadoutTaskData
      : "texts" in d
        ? ReadoutTextData
        : "example" in d
          ? ReadoutExampleData
          : null;
  if (form === null) return Effect.void;
  return Schema.decodeUnknown(Schema.Struct({ data: form }))({ data: d }, decodeOptions).pipe(
    Effect.asVoid,
    Effect.mapError((e) => fromParseError(file, e, { data: d }, prefix)),
  );
};

/**
 * The tags a YAML experiment file may use: YAML 1.2's core schema. Anything else (`!!js/function`,
 * `!!python/object`, `!!binary`, `!custom`, …) is an error, not a string: a file written for a
 * loader that runs tags as code must not half-work here.
 */
const CORE_TAGS = new Set(
  ["str", "int", "float", "bool", "null", "map", "seq"].map((t) => `tag:yaml.org,2002:${t}`),
);

/** At most this many alias expansions per file (a "billion laughs" file is an error, not a hang). */
const MAX_ALIASES = 1000;

const yamlWhere = (file: string, lineCounter: YAML.LineCounter, offset: number | undefined): string => {
  if (offset === undefined) return file;
  const { line, col } = lineCounter.linePos(offset);
  return `${file}:${line}:${col}`;
};

/** Parse YAML text: syntax errors, unknown tags, forbidden keys and alias bombs are typed errors. */
const parseYaml = (text: string, file: string): unknown => {
  const lineCounter = new YAML.LineCounter();
  const d = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true, lineCounter });
  const first = d.errors[0] ?? d.warnings[0];
  if (first !== undefined) {
    const line = first.linePos?.[0];
    throw new ExperimentFileError({
      file: line === undefined ? file : `${file}:${line.line}:${line.col}`,
      field: "(document)",
      expected: first.code === "TAG_RESOLVE_FAILED" ? "a YAML 1.2 core tag (or none)" : "valid YAML",
      found: first.message.split("\n")[0]!,
    });
  }
  let bad: ExperimentFileError | null = null;
  YAML.visit(d, {
    Node: (_, node) => {
      if (node.tag !== undefined && !CORE_TAGS.has(node.tag)) {
        bad = new ExperimentFileError({
          file: yamlWhere(file, lineCounter, node.range?.[0]),
          field: "(document)",
          expected: "a YAML 1.2 core tag (!!str, !!int, !!float, !!bool, !!null, !!map, !!seq) or none",
          found: `the tag ${node.tag}`,
        });
        return YAML.visit.BREAK;
      }
      return undefined;
    },
    Pair: (_, pair) => {
      const key = YAML.isScalar(pair.key) ? pair.key.value : pair.key;
      if (typeof key === "string" && isForbiddenKey(key)) {
        bad = new ExperimentFileError({
          file: yamlWhere(file, lineCounter, YAML.isNode(pair.key) ? pair.key.range?.[0] : undefined),
          field: key,
          expected: FORBIDDEN_KEYS_EXPECTED,
          found: JSON.stringify(key),
        });
        return YAML.visit.BREAK;
      }
      return undefined;
    },
  });
  if (bad !== null) throw bad;
  return d.toJS({ maxAliasCount: MAX_ALIASES });
};

/** Parse YAML or JSON text (JSON is YAML; `.json` files are read as strict JSON). */
export const parseExperimentText = (
  text: string,
  file: string,
): Effect.Effect<Record<string, unknown>, ExperimentFileError> =>
  Effect.suspend(() => {
    let doc: unknown;
    const json = extname(file).toLowerCase() === ".json";
    try {
      doc = json ? JSON.parse(text) : parseYaml(text, file);
    } catch (e) {
      if (e instanceof ExperimentFileError) return Effect.fail(e);
      return Effect.fail(
        new ExperimentFileError({
          file,
          field: "(document)",
          expected: json ? "valid JSON" : "valid YAML",
          found: (e as Error).message,
        }),
      );
    }
    if (typeof doc !== "object" || doc === null || Array.isArray(doc))
      return Effect.fail(
        new ExperimentFileError({
          file,
          field: "(document)",
          expected: "a mapping of fields",
          found: show(doc),
        }),
      );
    return Effect.succeed(doc as Record<string, unknown>);
  });

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

/** Decode an already parsed document (the API for experiments built in code). */
export const decodeExperiment = (
  raw: Record<string, unknown>,
  file: string,
  content = canonicalJson(raw),
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
    if (isReadoutDocument(raw)) yield* checkReadoutData(file, raw);
    const decoded: Effect.Effect<AnyExperiment, ParseResult.ParseError> = isCausalDocument(raw)
      ? Schema.decodeUnknown(CausalExperiment)(raw, decodeOptions)
      : isReadoutDocument(raw)
        ? Schema.decodeUnknown(ReadoutExperiment)(raw, decodeOptions)
        : Schema.decodeUnknown(Experiment)(raw, decodeOptions);
    const experiment = yield* decoded.pipe(Effect.mapError((e) => fromParseError(file, e, raw)));
    const loaded: LoadedExperiment = {
      file,
      baseDir: dirname(resolve(file)),
      name: experiment.name ?? basename(file).replace(/\.(ya?ml|json)$/i, ""),
      raw,
      experiment,
      fileHash: sha256(content),
    };
    yield* expandCells(loaded); // every cell must decode: sweep values are checked up front
    return loaded;
  });

/** Read, parse and validate an experiment file (YAML: .yaml/.yml, JSON: .json). */
export const loadExperiment = (file: string): Effect.Effect<LoadedExperiment, ExperimentFileError> =>
  Effect.gen(function* () {
    const text = yield* Effect.try({
      try: () => readFileSync(file, "utf8"),
      catch: (e) =>
        new ExperimentFileError({
          file,
          field: "(file)",
          expected: "a readable experiment file (YAML or JSON)",
          found: (e as NodeJS.ErrnoException).code ?? String(e),
        }),
    });
    const raw = yield* parseExperimentText(text, file);
    return yield* decodeExperiment(raw, file, text);
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

/** The sweep as a list of assignments {path: value}: grid (cartesian, last key fastest) × zip tuples. */
export const sweepAssignments = (
  loaded: Pick<LoadedExperiment, "file" | "experiment">,
): Effect.Effect<readonly Readonly<Record<string, unknown>>[], ExperimentFileError> =>
  Effect.gen(function* () {
    const { file } = loaded;
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

const normalizeCausal = (c: typeof CausalCellFields.Type): CausalCellSpec => ({
  kind: "causal",
  model: c.model ?? null,
  task: {
    builtin: c.task.builtin,
    options: c.task.options,
    family: c.task.family ?? null,
    n: c.task.n,
    test: c.task.test,
    heldOut: c.task.heldOut,
    seed: c.task.seed ?? c.seed,
  },
  method: c.method,
  runtime: { threads: c.runtime.threads },
  seed: c.seed,
});

/** Where each readout method keeps its own seed (splits, minibatches, control labels, sampling). */
const METHOD_SEED: Readonly<Record<string, readonly string[]>> = {
  "tuned-lens": ["seed"],
  probe: ["seed"],
  erasure: ["probe", "seed"],
  sae: ["train", "seed"],
  "sae-circuit": ["train", "seed"],
  neurons: ["records", "seed"],
};

/** The method with its seed set to the cell's when the file does not give one (replicates differ). */
const seedMethod = (
  method: ReadoutCellSpec["method"],
  rawMethod: unknown,
  seed: number,
): ReadoutCellSpec["method"] => {
  const path = METHOD_SEED[method._tag];
  if (path === undefined) return method;
  let r: unknown = rawMethod;
  for (const k of path)
    r = typeof r === "object" && r !== null ? (r as Record<string, unknown>)[k] : undefined;
  if (r !== undefined) return method;
  const out = structuredClone(method) as unknown as Record<string, unknown>;
  let o = out;
  for (const k of path.slice(0, -1)) o = o[k] as Record<string, unknown>;
  o[path.at(-1)!] = seed;
  return out as unknown as ReadoutCellSpec["method"];
};

/**
 * A readout cell's spec: the data's seed resolved to the cell's, the builtin task to the model, and
 * the method's own seed (when it has one and the file leaves it out) to the cell's.
 */
const normalizeReadout = (c: typeof ReadoutCellFields.Type, rawMethod: unknown): ReadoutCellSpec => {
  const d = c.data;
  const data: ReadoutCellSpec["data"] =
    "task" in d
      ? {
          kind: "task",
          builtin: d.task.builtin ?? c.model,
          n: d.task.n,
          seed: d.task.seed ?? c.seed,
          options: d.task.options,
        }
      : "texts" in d
        ? { kind: "texts", texts: d.texts }
        : { kind: "example", example: d.example, n: d.n, seed: d.seed ?? c.seed, options: d.options };
  return {
    kind: "readout",
    model: c.model,
    data,
    method: seedMethod(c.method, rawMethod, c.seed),
    runtime: { threads: c.runtime.threads },
    seed: c.seed,
  };
};

/** A circuit cell's spec; `kind: circuit` is the default and is not part of the spec (ids unchanged). */
const normalize = (c: typeof CellFields.Type): CircuitCellSpec => ({
  model: c.model,
  task:
    "file" in c.task
      ? { kind: "file", file: c.task.file }
      : {
          kind: "builtin",
          builtin: c.task.builtin ?? c.model,
          n: c.task.n,
          seed: c.task.seed ?? c.seed,
          options: c.task.options,
        },
  method: c.method,
  ablation: c.ablation,
  metric: c.metric,
  granularity: c.granularity,
  selection: c.selection ?? null,
  evaluation: {
    curve: c.evaluation.curve,
    spearmanSample: c.evaluation.spearmanSample,
    spearmanSeed: c.evaluation.spearmanSeed ?? c.seed,
    truth: c.evaluation.truth,
  },
  runtime: { threads: c.runtime.threads },
  seed: c.seed,
});

/**
 * Every cell of the experiment: sweep assignments (× seeds) applied to the raw document by dotted
 * path, each decoded (errors name the sweep value that broke it) and normalized.
 */
export const expandCells = (loaded: LoadedExperiment): Effect.Effect<readonly Cell[], ExperimentFileError> =>
  Effect.gen(function* () {
    const { file, raw, experiment } = loaded;
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
        const spec: CellSpec = isCausalDocument(raw)
          ? normalizeCausal(
              yield* Schema.decodeUnknown(CausalCellFields)(doc, decodeOptions).pipe(
                Effect.mapError((e) => fromParseError(file, e, doc, prefix)),
              ),
            )
          : isReadoutDocument(raw)
            ? normalizeReadout(
                yield* checkReadoutData(file, doc, prefix).pipe(
                  Effect.zipRight(
                    Schema.decodeUnknown(ReadoutCellFields)(doc, decodeOptions).pipe(
                      Effect.mapError((e) => fromParseError(file, e, doc, prefix)),
                    ),
                  ),
                ),
                doc.method,
              )
            : normalize(
                yield* Schema.decodeUnknown(CellFields)(doc, decodeOptions).pipe(
                  Effect.mapError((e) => fromParseError(file, e, doc, prefix)),
                ),
              );
        const varying: Record<string, unknown> = { ...a };
        if (seeds.length > 1 && !("seed" in a)) varying.seed = seed;
        cells.push({ index: cells.length, spec, varying, specHash: sha256(canonicalJson(spec)) });
      }
    }
    return cells;
  });
