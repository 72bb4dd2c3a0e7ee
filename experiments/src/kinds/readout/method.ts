import { InputError } from "@patchbay/core/errors";
import type { OpenModel } from "@patchbay/core/runtime";
import type { Effect, Schema } from "effect";
import type { Html } from "../../report/html.ts";
import type { CellError } from "../../run/cell-errors.ts";
import type { CellFile } from "../kind.ts";
import type { Dataset } from "./data.ts";
import type { ReadoutCell } from "./data-form.ts";
import type { ReadoutFigures } from "./figures.ts";

/**
 * One readout method of @patchbay/readouts as the experiments see it: its part of the file
 * (`method: {_tag, …}`), how a cell runs it, its key figures (table, CLI, report summary) and its
 * report section. A new method is one file defining one of these plus its line in methods/index.ts.
 *
 * S is the schema of the method's part of the file (decoding to `{_tag, …}`), R its result as the
 * store holds it (`{method: tag, result: R}` in the cell's JSON).
 */
export interface ReadoutMethod<Tag extends string, S extends MethodSchema<Tag>, R> {
  readonly tag: Tag;
  /** the method's fields in the file: a TaggedStruct, refined with the method's own checks */
  readonly schema: S;
  /** where the method keeps its own seed: it follows the cell's unless the file gives one */
  readonly seed?: readonly string[];
  readonly run: (
    p: Prepared,
    m: Schema.Schema.Type<S>,
    cell: ReadoutCell,
  ) => Effect.Effect<MethodRun<R>, CellError>;
  /** the key figures: `headline` (named by `headlineLabel`) and the declared figure columns it has */
  readonly figures: (r: R) => ReadoutFigures;
  /** its report section (after the cards; `h` makes a heading of the page's level) */
  readonly section: (r: R, h: (text: string) => Html) => Html;
}

/** What a method's run returns: its JSON result and the artifacts it wrote (tuned-lens translators, SAEs). */
export interface MethodRun<R> {
  readonly result: R;
  readonly files?: readonly CellFile[];
}

/** A readout cell's model and data, resolved before the method runs. */
export interface Prepared {
  readonly model: OpenModel;
  readonly data: Dataset;
  readonly weightsHash: string;
  readonly datasetHash: string;
  readonly cellId: string;
}

/** A schema decoding to the method's `{_tag, …}` (no context). */
export type MethodSchema<Tag extends string> =
  | Schema.Schema<{ readonly _tag: Tag }, never, never>
  | Schema.Schema.AnyNoContext;

/**
 * Define a readout method (the type parameters are inferred from the schema and the run).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { READOUT_METHODS, readoutMethod } from "@patchbay/experiments";
 *
 * const dla = READOUT_METHODS.find((m) => m.tag === "dla")!;
 * assert.equal(readoutMethod(dla), dla); // an identity that fixes the method's types
 * ```
 */
export const readoutMethod = <Tag extends string, S extends MethodSchema<Tag>, R>(
  m: ReadoutMethod<Tag, S, R>,
): ReadoutMethod<Tag, S, R> => m;

/** `v`, or an InputError when the data does not have it. */
export const need = <A>(v: A | null, field: string, expected: string, found: string): A => {
  if (v === null) throw new InputError({ field, expected, found });
  return v;
};

export const finite = (x: number | null | undefined): number | null =>
  x === null || x === undefined || !Number.isFinite(x) ? null : x;

export const mean = (xs: readonly number[]): number | null => {
  const f = xs.filter(Number.isFinite);
  return f.length === 0 ? null : f.reduce((a, b) => a + b, 0) / f.length;
};
