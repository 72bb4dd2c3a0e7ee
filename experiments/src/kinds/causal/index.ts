import { Effect } from "effect";
import { isRecord } from "../../results/values.ts";
import { decodeDocument } from "../../spec/parse.ts";
import type { ExperimentKind } from "../kind.ts";
import { causalIdentity, runCausalCell } from "./cell.ts";
import { CAUSAL_COLUMNS } from "./columns.ts";
import { SECTION_CSS } from "../../report/html.ts";
import { causalCellBody, causalMetrics, causalSummaryColumns } from "./report.ts";
import type { CausalCellResult } from "./result.ts";
import { causalRow } from "./rows.ts";
import { CausalCellFields, type CausalCellSpec, CausalExperiment, normalizeCausal } from "./spec.ts";
import { causalSummary } from "./summary.ts";

/** The shape of a causal result: the envelope and the method's part (iia, sweep or das). */
const isCausalShape = (v: Readonly<Record<string, unknown>>): boolean =>
  typeof v.cellId === "string" &&
  typeof v.method === "string" &&
  isRecord(v.model) &&
  isRecord(v.dataset) &&
  isRecord(v.task) &&
  Array.isArray(v.task.variables) &&
  (v.iia === null || (isRecord(v.iia) && isRecord(v.iia.perFamily))) &&
  (v.sweep === null ||
    (isRecord(v.sweep) &&
      Array.isArray(v.sweep.sites) &&
      Array.isArray(v.sweep.positions) &&
      Array.isArray(v.sweep.grid) &&
      Array.isArray(v.sweep.perLayer) &&
      isRecord(v.sweep.best))) &&
  (v.das === null ||
    (isRecord(v.das) && isRecord(v.das.iia) && Array.isArray(v.das.curve) && Array.isArray(v.das.positions)));

/** Causal abstraction (`kind: causal`): IIA of alignments, IIA sweeps over (site, position), DAS. */
export const causalKind: ExperimentKind<CausalCellSpec, CausalCellResult> = {
  name: "causal",
  experiment: CausalExperiment,
  cellFields: CausalCellFields,
  checkDocument: () => Effect.void,
  decodeCell: (file, doc, prefix) =>
    Effect.map(decodeDocument(CausalCellFields, file, doc, prefix), normalizeCausal),
  examples: (spec) => [
    ["task.n", spec.task.n],
    ["task.test", spec.task.test],
  ],
  describe: (spec) =>
    `${spec.model ?? "(task network)"} [${spec.task.builtin} ${spec.task.family ?? "(first family)"} n=${spec.task.n} seed=${spec.task.seed}]`,
  // sites, positions, families and rotations are checked while the cell prepares (identity)
  check: () => Effect.void,
  identity: causalIdentity,
  run: runCausalCell,
  resultProblem: (v) =>
    isCausalShape(v)
      ? null
      : "a CausalCellResult (kind, cellId, method, model, dataset, task, iia, sweep, das)",
  columns: CAUSAL_COLUMNS,
  row: causalRow,
  summary: causalSummary,
  report: {
    heading: "Causal-abstraction cells",
    chartTitle: "Causal abstraction across the cells",
    cls: "causal",
    note: "IIA / best IIA: the fixed alignment's IIA (iia) or the best cell of the site × position grid (iia-sweep); MIB mean / max: over layers of the per-layer max; controls: DAS's (the random-init model's test IIA, a random rotation, the full component).",
    chartNote: "IIA (DAS: test IIA), MIB mean and DAS's controls of every cell.",
    css: [SECTION_CSS],
    columns: causalSummaryColumns,
    metrics: () => causalMetrics,
    body: (r, o) => causalCellBody(r, o.headingLevel, o.seconds !== undefined ? { seconds: o.seconds } : {}),
  },
};
