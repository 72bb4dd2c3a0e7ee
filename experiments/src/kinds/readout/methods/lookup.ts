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

/**
 * A readout cell's key figures, by its method's own `figures` (figures.ts).
 *
 * Returns `{ headlineLabel, headline, … }`: the figures a table or report shows.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { Effect } from "effect";
 * import { decodeExperiment, readoutFigures, runExperiment } from "@patchbay/experiments";
 * const dir = mkdtempSync(join(tmpdir(), "exp-"));
 * // a readout experiment built in code: direct logit attribution on the compiled induction model
 * const raw = { name: "doc", kind: "readout", model: "builtin:induction", data: { task: { n: 4 } }, method: { _tag: "dla" } };
 * const loaded = await Effect.runPromise(decodeExperiment(raw, join(dir, "doc.yaml")));
 * const summary = await Effect.runPromise(runExperiment(loaded, { results: join(dir, "results") }));
 * const { result } = summary.cells[0]!;
 * const figures = readoutFigures(result as Parameters<typeof readoutFigures>[0]);
 * assert.equal(figures.headlineLabel, "logit difference");
 * assert.equal(figures.topComponent, "a1.h2"); // the induction head
 * ```
 */
export const readoutFigures = (r: ReadoutCellResult): ReadoutFigures => methodOf(r).figures(r.result);
