/**
 * The columns of a run's table (`<results>/runs/<runId>/table.jsonl` and `table.arrow`), declared
 * once per table kind (the head and tail here, the kind's own in kinds/<kind>/columns.ts): name,
 * type and what it means. The JSONL rows and the Arrow schema are both derived from these
 * declarations (run/tables.ts), so every run of a kind has the same columns with
 * the same types, whatever its cells computed (a column no cell fills is all null, and keeps its
 * type), and tables of different runs concatenate. After the declared columns come the run's swept
 * fields (see run/tables.ts for how their types are fixed).
 *
 * Types: int64 (counts, indices, seeds), float64 (every measured figure; null when it does not
 * exist or is not finite), utf8, bool.
 */
import type { KindName } from "./envelope.ts";

export type ColumnType = "int64" | "float64" | "utf8" | "bool";

/** The JavaScript value of a column type in a row (int64 as a safe integer number). */
export type ColumnValue<T extends ColumnType> = T extends "utf8"
  ? string
  : T extends "bool"
    ? boolean
    : number;

export interface ColumnDecl {
  readonly type: ColumnType;
  /** a short human label (report tables) */
  readonly label: string;
  readonly description: string;
}

/** A column of a table: its name, type and description. */
export interface ColumnSpec extends ColumnDecl {
  readonly name: string;
}

/** A row of a declared table: one value (or null) per declared column. */
export type RowOf<D extends Readonly<Record<string, ColumnDecl>>> = {
  readonly [K in keyof D]: ColumnValue<D[K]["type"]> | null;
};

export const int = (label: string, description: string) => ({ type: "int64", label, description }) as const;
export const float = (label: string, description: string) =>
  ({ type: "float64", label, description }) as const;
export const text = (label: string, description: string) => ({ type: "utf8", label, description }) as const;

/** Every table starts with these. */
export const HEAD_COLUMNS = {
  cellId: text("cell", "the cell's content hash; its result is <results>/cells/<cellId>.json"),
  index: int("index", "the cell's position in the run (sweep order, 0-based)"),
  kind: text("kind", "circuit | causal | readout"),
  seed: int("seed", "the cell's replicate seed"),
  model: text(
    "model",
    "the model as the experiment file names it (path or builtin:…); null: the causal task's own network",
  ),
  modelName: text("model name", "the model's name (from its config)"),
  method: text("method", "the method (its _tag in the file)"),
  examples: int("examples", "examples in the cell's dataset (prompts or pairs)"),
} as const;

/** ... and end with these (before the swept fields). */
export const TAIL_COLUMNS = {
  seconds: float(
    "seconds",
    "seconds the cell took when computed by this run; null when it was already in the store",
  ),
} as const;

/** A run's table kind: the kind of its cells (kinds/index.ts). */
export type TableKind = KindName;
