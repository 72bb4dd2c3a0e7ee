import {
  Bool,
  type DataType,
  Field,
  Float64,
  Int64,
  RecordBatch,
  Schema,
  Table,
  tableFromIPC,
  tableToIPC,
  Utf8,
  vectorFromArray,
} from "apache-arrow";
import { kindNamed, kindOfResult } from "../kinds/index.ts";
import {
  type ColumnSpec,
  type ColumnType,
  HEAD_COLUMNS,
  type RowOf,
  TAIL_COLUMNS,
  type TableKind,
} from "../results/table-columns.ts";
import type { AnyCellResult } from "../kinds/index.ts";
import { isRecord, num, specInt, specText } from "../results/values.ts";
import { cellJsonSchema, type JsonSchemaNode, jsonSchemaAt } from "../spec/json-schema.ts";

/**
 * A run's table: one row per cell, the columns declared for its kind (kinds/<kind>/columns.ts)
 * followed by the run's swept fields. The JSONL file has every column in every row (null where a
 * cell has no value); the Arrow file has the same columns with a fixed type each.
 *
 * Swept fields are columns named by their dotted path (`method.tau`, `task.seed`), and their
 * type comes from the schema of that field in the experiment file (the cell's JSON Schema), never
 * from the values swept: an integer field is int64, any other number float64, a string or
 * string-literal field utf8, a boolean bool; a field the schema leaves open (generator options,
 * an alignment given by name or inline) or of mixed type is utf8, holding strings as they are and
 * other values as JSON. A swept object of known shape becomes a column per field, its `_tag` named
 * by the path itself (`selection`, `selection.n`, not `selection._tag`); a swept field that is
 * already a declared column (`method`, `ablation`, `seed`, …) is that column. So two runs that
 * sweep the same fields have the same schema whatever values they sweep.
 */

/** One row of a run's table (JSONL / Arrow): declared columns, then swept fields. */
export type TableRow = Readonly<Record<string, string | number | boolean | null>>;

/**
 * The declared columns of a table kind, in order: the head, the kind's own, the tail.
 *
 * Returns `{ name, type, label, description }` per column.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { declaredColumns } from "@patchbay/experiments";
 *
 * const cols = declaredColumns("readout");
 * assert.deepEqual(cols.slice(0, 2).map((c) => c.name), ["cellId", "index"]);
 * ```
 */
export const declaredColumns = (kind: TableKind): readonly ColumnSpec[] =>
  Object.entries({ ...HEAD_COLUMNS, ...kindNamed(kind)!.columns, ...TAIL_COLUMNS }).map(([name, d]) => ({
    name,
    ...d,
  }));

export const tableKindOf = (r: AnyCellResult): TableKind => kindOfResult(r).name;

interface Extra {
  readonly index: number;
  readonly seconds: number | null;
}

const head = (r: AnyCellResult, kind: TableKind, extra: Extra): RowOf<typeof HEAD_COLUMNS> => ({
  cellId: r.cellId,
  index: extra.index,
  kind,
  seed: specInt(r.spec, "seed"),
  model: specText(r.spec, "model"),
  modelName: r.model.name,
  // fixtures and old results may lack the spec's tag: the method name up to its parameters
  method: specText(r.spec, "method._tag") ?? r.method.split("(")[0]!,
  examples: r.dataset.examples,
});

// ---- swept fields ----------------------------------------------------------------------------

const isStruct = (n: JsonSchemaNode): boolean =>
  n.type === "object" && n.additionalProperties === false && isRecord(n.properties);

const primitiveOf = (n: JsonSchemaNode): string | null => {
  if (typeof n.type === "string") return n.type;
  const lits = Array.isArray(n.enum) ? n.enum : "const" in n ? [n.const] : null;
  if (lits === null || lits.length === 0) return null;
  const ts = new Set(lits.map((v) => (v === null ? "null" : typeof v)));
  return ts.size === 1 ? [...ts][0]! : null;
};

/**
 * The column type of a swept field of a cell kind, from its schema (see the module comment): a
 * tagged object is its tag (utf8); integer → int64; integer or number → float64; string → utf8;
 * boolean → bool; anything else utf8.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sweptColumnType } from "@patchbay/experiments";
 *
 * assert.equal(sweptColumnType("circuit", "task.n"), "int64");
 * assert.equal(sweptColumnType("circuit", "method"), "utf8"); // a tagged object is its tag
 * ```
 */
export const sweptColumnType = (kind: TableKind, path: string): ColumnType => {
  const branches = jsonSchemaAt(cellJsonSchema(kind), path.split(".")).filter((n) => n.type !== "null");
  if (branches.length === 0) return "utf8";
  if (branches.every((b) => isStruct(b) && "_tag" in (b.properties as object))) return "utf8";
  const ts = new Set(branches.map(primitiveOf));
  if (ts.size === 1 && ts.has("integer")) return "int64";
  if ([...ts].every((t) => t === "integer" || t === "number")) return "float64";
  if (ts.size === 1 && ts.has("boolean")) return "bool";
  return "utf8";
};

/** A value in a column of type `t` (the schema decoded it, so a mismatch is a defect). */
const cellValue = (t: ColumnType, v: unknown, column: string): string | number | boolean | null => {
  if (v === null || v === undefined) return null;
  switch (t) {
    case "int64":
      if (typeof v === "number" && Number.isSafeInteger(v)) return v;
      break;
    case "float64":
      // −0 as 0: JSON has no −0, and the JSONL and Arrow files hold the same values
      if (typeof v === "number") return v === 0 ? 0 : num(v);
      break;
    case "bool":
      if (typeof v === "boolean") return v;
      break;
    case "utf8":
      return typeof v === "string" ? v : JSON.stringify(v);
  }
  throw new Error(`run table: column ${column} is ${t}, got ${JSON.stringify(v)}`);
};

/**
 * A swept value as columns: an object whose schema is a struct (a tagged method, a selection, a
 * task) becomes a column per field with its `_tag` under the path itself; anything else is one
 * column.
 */
const flattenSwept = (kind: TableKind, path: string, v: unknown, out: Record<string, unknown>): void => {
  // a nullable field (`selection: null` drops ACDC's) is still a struct where it is not null
  const branches = jsonSchemaAt(cellJsonSchema(kind), path.split(".")).filter((n) => n.type !== "null");
  if (isRecord(v) && branches.length > 0 && branches.every(isStruct)) {
    for (const [k, x] of Object.entries(v))
      if (k === "_tag") out[path] = x;
      else flattenSwept(kind, `${path}.${k}`, x, out);
  } else out[path.replace(/\._tag$/, "")] = v; // a swept `selection._tag` is the selection column
};

/**
 * One row of a run's table for a cell result: the head columns (cell id, kind, model, method, …), the kind's figures and the swept fields.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { Effect } from "effect";
 * import { decodeExperiment, runExperiment, tableRow } from "@patchbay/experiments";
 * const dir = mkdtempSync(join(tmpdir(), "exp-"));
 * // a readout experiment built in code: direct logit attribution on the compiled induction model
 * const raw = { name: "doc", kind: "readout", model: "builtin:induction", data: { task: { n: 4 } }, method: { _tag: "dla" } };
 * const loaded = await Effect.runPromise(decodeExperiment(raw, join(dir, "doc.yaml")));
 * const summary = await Effect.runPromise(runExperiment(loaded, { results: join(dir, "results") }));
 * const { result } = summary.cells[0]!;
 * const rows = [tableRow(result, {}, { index: 0, seconds: null })];
 * assert.equal(rows[0]!.kind, "readout");
 * assert.equal(rows[0]!.topComponent, "a1.h2");
 * ```
 */
export const tableRow = (
  r: AnyCellResult,
  varying: Readonly<Record<string, unknown>>,
  extra: Extra,
): TableRow => {
  const kind = tableKindOf(r);
  const values: Record<string, unknown> = {
    ...head(r, kind, extra),
    ...kindOfResult(r).row(r),
    seconds: num(extra.seconds),
  };
  const row: Record<string, string | number | boolean | null> = {};
  for (const c of declaredColumns(kind)) row[c.name] = cellValue(c.type, values[c.name], c.name);
  const swept: Record<string, unknown> = {};
  for (const [path, v] of Object.entries(varying)) flattenSwept(kind, path, v, swept);
  for (const [name, v] of Object.entries(swept))
    if (!(name in row)) row[name] = cellValue(sweptColumnType(kind, name), v, name);
  return row;
};

/**
 * The columns of a run's table: its kind's declared columns, then each swept field (in the order
 * the rows first name them) with its type from the schema.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { Effect } from "effect";
 * import { decodeExperiment, runExperiment, tableColumns, tableRow } from "@patchbay/experiments";
 * const dir = mkdtempSync(join(tmpdir(), "exp-"));
 * // a readout experiment built in code: direct logit attribution on the compiled induction model
 * const raw = { name: "doc", kind: "readout", model: "builtin:induction", data: { task: { n: 4 } }, method: { _tag: "dla" } };
 * const loaded = await Effect.runPromise(decodeExperiment(raw, join(dir, "doc.yaml")));
 * const summary = await Effect.runPromise(runExperiment(loaded, { results: join(dir, "results") }));
 * const { result } = summary.cells[0]!;
 * const rows = [tableRow(result, {}, { index: 0, seconds: null })];
 * const cols = tableColumns(rows);
 * assert.ok(cols.some((c) => c.name === "topComponent"));
 * ```
 */
export const tableColumns = (rows: readonly TableRow[]): readonly ColumnSpec[] => {
  const kind = (rows[0]?.kind ?? "circuit") as TableKind;
  if (kindNamed(kind) === undefined) throw new Error(`run table: unknown kind ${JSON.stringify(kind)}`);
  const declared = declaredColumns(kind);
  const names = new Set(declared.map((c) => c.name));
  const swept: ColumnSpec[] = [];
  for (const r of rows) {
    if (r.kind !== kind) throw new Error(`run table: rows of kinds ${kind} and ${String(r.kind)}`);
    for (const name of Object.keys(r))
      if (!names.has(name)) {
        names.add(name);
        swept.push({
          name,
          type: sweptColumnType(kind, name),
          label: name,
          description: "a swept field of the experiment",
        });
      }
  }
  return [...declared, ...swept];
};

/**
 * JSON lines, every column in every row (null where a row has none), in the table's column order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { Effect } from "effect";
 * import { decodeExperiment, formatJsonl, runExperiment, tableRow } from "@patchbay/experiments";
 * const dir = mkdtempSync(join(tmpdir(), "exp-"));
 * // a readout experiment built in code: direct logit attribution on the compiled induction model
 * const raw = { name: "doc", kind: "readout", model: "builtin:induction", data: { task: { n: 4 } }, method: { _tag: "dla" } };
 * const loaded = await Effect.runPromise(decodeExperiment(raw, join(dir, "doc.yaml")));
 * const summary = await Effect.runPromise(runExperiment(loaded, { results: join(dir, "results") }));
 * const { result } = summary.cells[0]!;
 * const rows = [tableRow(result, {}, { index: 0, seconds: null })];
 * const lines = formatJsonl(rows).trim().split("\n");
 * assert.equal(JSON.parse(lines[0]!).topComponent, "a1.h2");
 * ```
 */
export const formatJsonl = (rows: readonly TableRow[]): string => {
  const columns = tableColumns(rows);
  return rows
    .map((r) => `${JSON.stringify(Object.fromEntries(columns.map((c) => [c.name, r[c.name] ?? null])))}\n`)
    .join("");
};

const arrowType = (t: ColumnType): DataType =>
  t === "int64" ? new Int64() : t === "float64" ? new Float64() : t === "bool" ? new Bool() : new Utf8();

/**
 * The Arrow schema of a table's columns (every field nullable; descriptions as field metadata).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { Effect } from "effect";
 * import { arrowSchema, decodeExperiment, runExperiment, tableColumns, tableRow } from "@patchbay/experiments";
 * const dir = mkdtempSync(join(tmpdir(), "exp-"));
 * // a readout experiment built in code: direct logit attribution on the compiled induction model
 * const raw = { name: "doc", kind: "readout", model: "builtin:induction", data: { task: { n: 4 } }, method: { _tag: "dla" } };
 * const loaded = await Effect.runPromise(decodeExperiment(raw, join(dir, "doc.yaml")));
 * const summary = await Effect.runPromise(runExperiment(loaded, { results: join(dir, "results") }));
 * const { result } = summary.cells[0]!;
 * const rows = [tableRow(result, {}, { index: 0, seconds: null })];
 * const schema = arrowSchema(tableColumns(rows));
 * assert.equal(schema.fields.length, tableColumns(rows).length);
 * ```
 */
export const arrowSchema = (columns: readonly ColumnSpec[]): Schema =>
  new Schema(
    columns.map(
      (c) =>
        new Field(
          c.name,
          arrowType(c.type),
          true,
          new Map([
            ["label", c.label],
            ["description", c.description],
          ]),
        ),
    ),
  );

/**
 * The rows as an Arrow IPC file with the table's declared schema.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { Effect } from "effect";
 * import { decodeExperiment, readArrow, runExperiment, tableRow, toArrow } from "@patchbay/experiments";
 * const dir = mkdtempSync(join(tmpdir(), "exp-"));
 * // a readout experiment built in code: direct logit attribution on the compiled induction model
 * const raw = { name: "doc", kind: "readout", model: "builtin:induction", data: { task: { n: 4 } }, method: { _tag: "dla" } };
 * const loaded = await Effect.runPromise(decodeExperiment(raw, join(dir, "doc.yaml")));
 * const summary = await Effect.runPromise(runExperiment(loaded, { results: join(dir, "results") }));
 * const { result } = summary.cells[0]!;
 * const rows = [tableRow(result, {}, { index: 0, seconds: null })];
 * const back = readArrow(toArrow(rows));
 * assert.equal(back[0]!.topComponent, "a1.h2");
 * ```
 */
export const toArrow = (rows: readonly TableRow[]): Uint8Array => {
  const columns = tableColumns(rows);
  const schema = arrowSchema(columns);
  const vectors = Object.fromEntries(
    columns.map((c, i) => {
      const vs = rows.map((r) => cellValue(c.type, r[c.name], c.name));
      const values = c.type === "int64" ? vs.map((v) => (v === null ? null : BigInt(v as number))) : vs;
      return [c.name, vectorFromArray(values, schema.fields[i]!.type)];
    }),
  );
  const batches = new Table(vectors).batches.map((b) => new RecordBatch(schema, b.data));
  return tableToIPC(new Table(schema, batches), "file");
};

/**
 * Read an Arrow IPC table back as plain rows (int64 as numbers: the table's integers are safe).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { Effect } from "effect";
 * import { decodeExperiment, readArrow, runExperiment, tableRow, toArrow } from "@patchbay/experiments";
 * const dir = mkdtempSync(join(tmpdir(), "exp-"));
 * // a readout experiment built in code: direct logit attribution on the compiled induction model
 * const raw = { name: "doc", kind: "readout", model: "builtin:induction", data: { task: { n: 4 } }, method: { _tag: "dla" } };
 * const loaded = await Effect.runPromise(decodeExperiment(raw, join(dir, "doc.yaml")));
 * const summary = await Effect.runPromise(runExperiment(loaded, { results: join(dir, "results") }));
 * const { result } = summary.cells[0]!;
 * const rows = [tableRow(result, {}, { index: 0, seconds: null })];
 * assert.deepEqual(readArrow(toArrow(rows)).length, 1);
 * ```
 */
export const readArrow = (bytes: Uint8Array): Record<string, unknown>[] =>
  tableFromIPC(bytes)
    .toArray()
    .map((row) =>
      Object.fromEntries(
        Object.entries((row as { toJSON(): Record<string, unknown> }).toJSON()).map(([k, v]) => [
          k,
          typeof v === "bigint" ? Number(v) : v,
        ]),
      ),
    );
