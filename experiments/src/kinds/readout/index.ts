import { resolve } from "node:path";
import { isSourcePath } from "@patchbay/core/weights";
import { Effect } from "effect";

import { isRecord } from "../../results/values.ts";
import { checkSites } from "../../run/sites.ts";
import { decodeDocument } from "../../spec/parse.ts";
import type { ExperimentKind } from "../kind.ts";
import { SECTION_CSS } from "../../report/html.ts";
import { readoutIdentity, runReadoutCell } from "./cell.ts";
import { READOUT_COLUMNS } from "./columns.ts";
import { checkReadoutData } from "./data-form.ts";
import { READOUT_CSS, readoutCellBody } from "./report.ts";
import { readoutMetrics, readoutSummaryColumns } from "./report-summary.ts";
import type { ReadoutCellResult } from "./result.ts";
import { readoutRow } from "./rows.ts";
import {
  normalizeReadout,
  READOUT_METHOD_TAGS,
  ReadoutCellFields,
  type ReadoutCellSpec,
  ReadoutExperiment,
} from "./spec.ts";
import { readoutSummary } from "./summary.ts";

/**
 * Readouts (`kind: readout`): a model, a dataset and one method of @patchbay/readouts (lenses,
 * attribution, attention, probes, steering, erasure, neurons, SAEs, patchscopes, …; methods/).
 */
export const readoutKind: ExperimentKind<ReadoutCellSpec, ReadoutCellResult> = {
  name: "readout",
  experiment: ReadoutExperiment,
  cellFields: ReadoutCellFields,
  checkDocument: checkReadoutData,
  decodeCell: (file, doc, prefix) =>
    checkReadoutData(file, doc, prefix).pipe(
      Effect.zipRight(decodeDocument(ReadoutCellFields, file, doc, prefix)),
      Effect.map((c) => normalizeReadout(c, doc.method)),
    ),
  examples: (spec) =>
    spec.data.kind === "task"
      ? [["data.task.n", spec.data.n]]
      : spec.data.kind === "example"
        ? [["data.n", spec.data.n]]
        : [],
  describe: (spec) =>
    `${spec.model} [${
      spec.data.kind === "task"
        ? `${spec.data.builtin} n=${spec.data.n} seed=${spec.data.seed}`
        : spec.data.kind === "texts"
          ? `${spec.data.texts.length} texts`
          : `${spec.data.example} n=${spec.data.n} seed=${spec.data.seed}`
    }]`,
  // every site the method names exists in its model, before any cell runs
  check: (spec, ctx) =>
    Effect.gen(function* () {
      const path = isSourcePath(spec.model) ? spec.model : resolve(ctx.baseDir, spec.model);
      const bad = checkSites(spec.method, yield* ctx.configOf(path), ctx.where);
      if (bad !== null) return yield* bad;
    }),
  identity: readoutIdentity,
  run: runReadoutCell,
  resultProblem: (v) =>
    typeof v.cellId === "string" &&
    typeof v.method === "string" &&
    READOUT_METHOD_TAGS.has(v.method) &&
    isRecord(v.model) &&
    isRecord(v.dataset) &&
    isRecord(v.result)
      ? null
      : `a ReadoutCellResult (kind, cellId, method: one of ${[...READOUT_METHOD_TAGS].join(", ")}, model, dataset, result)`,
  columns: READOUT_COLUMNS,
  row: readoutRow,
  summary: readoutSummary,
  report: {
    heading: "Readout cells",
    chartTitle: "Readouts across the cells",
    cls: "readout",
    note: "Headline: the one figure that says how each method came out; key figures: the method's own (lens KL, probe accuracy and selectivity, steering metric at max α, SAE L0 / FVU / CE recovered, neuron score, attribution completeness, DLA top component).",
    chartNote: "Each method's headline figure.",
    css: [SECTION_CSS, READOUT_CSS],
    columns: readoutSummaryColumns,
    metrics: readoutMetrics,
    body: (r, o) => readoutCellBody(r, o.headingLevel, o.seconds !== undefined ? { seconds: o.seconds } : {}),
  },
};
