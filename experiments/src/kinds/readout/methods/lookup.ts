import type { Effect } from "effect";
import type { Html } from "../../../report/html.ts";
import type { ReadoutFigures } from "../figures.ts";
import type { MethodRun, Prepared } from "../method.ts";
import type { ReadoutCell } from "../data-form.ts";
import type { ReadoutCellResult } from "../result.ts";
import { READOUT_METHODS } from "./index.ts";
import type { CellError } from "../../../run/cell-errors.ts";

/**
 * A readout method seen from the generic readout code (cell, figures, report): the list's entries
 * have different spec and result types, so here each takes its spec as decoded and its result as
 * stored, as the tag that picked it guarantees.
 */
export interface AnyReadoutMethod {
  readonly tag: string;
  readonly seed?: readonly string[];
  readonly run: (p: Prepared, m: unknown, cell: ReadoutCell) => Effect.Effect<MethodRun<unknown>, CellError>;
  readonly figures: (r: unknown) => ReadoutFigures;
  readonly section: (r: unknown, h: (text: string) => Html) => Html;
}

/** The method a spec (`_tag`) or a result (`method`) names: the schema admits only listed tags. */
export const methodOf = (x: { readonly method: string } | { readonly _tag: string }): AnyReadoutMethod => {
  const tag = "_tag" in x ? x._tag : x.method;
  const m = READOUT_METHODS.find((d) => d.tag === tag);
  if (m === undefined) throw new Error(`readout method ${JSON.stringify(tag)} is not in methods/index.ts`);
  return m as unknown as AnyReadoutMethod;
};

/** A readout cell's key figures, by its method's own `figures` (figures.ts). */
export const readoutFigures = (r: ReadoutCellResult): ReadoutFigures => methodOf(r).figures(r.result);
