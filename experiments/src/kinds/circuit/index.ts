import { Effect } from "effect";
import type { CellResult } from "./result.ts";
import { isRecord } from "../../results/values.ts";
import { decodeDocument } from "../../spec/parse.ts";
import type { ExperimentKind } from "../kind.ts";
import { circuitIdentity, runCircuitCell } from "./cell.ts";
import { CIRCUIT_COLUMNS } from "./columns.ts";
import { circuitCellBody, circuitColumns, circuitMetrics } from "./report.ts";
import { circuitRow } from "./rows.ts";
import { CellFields, type CircuitCellSpec, Experiment, normalizeCircuit } from "./spec.ts";
import { circuitSummary } from "./summary.ts";

/** Circuit discovery (`kind: circuit`, the default): edges scored, a circuit chosen and evaluated. */
export const circuitKind: ExperimentKind<CircuitCellSpec, CellResult> = {
  name: "circuit",
  experiment: Experiment,
  cellFields: CellFields,
  checkDocument: () => Effect.void,
  decodeCell: (file, doc, prefix) =>
    Effect.map(decodeDocument(CellFields, file, doc, prefix), normalizeCircuit),
  examples: (spec) => (spec.task.kind === "builtin" ? [["task.n", spec.task.n]] : []),
  describe: (spec) =>
    `${spec.ablation} ${spec.metric} ${spec.model} [${
      spec.task.kind === "file"
        ? spec.task.file
        : `${spec.task.builtin} n=${spec.task.n} seed=${spec.task.seed}`
    }]`,
  // models and tasks load in identity; the builtins' ground truth is checked when the cell runs
  check: () => Effect.void,
  identity: circuitIdentity,
  run: runCircuitCell,
  resultProblem: (v) =>
    typeof v.cellId === "string" && Array.isArray(v.edges) && isRecord(v.faithfulness)
      ? null
      : "a CellResult (cellId, edges, faithfulness, …)",
  columns: CIRCUIT_COLUMNS,
  row: circuitRow,
  summary: circuitSummary,
  report: {
    heading: "Circuit-discovery cells",
    chartTitle: "Circuit discovery across the cells",
    cls: "",
    note: "Faithfulness: (m(C) − m(∅)) / (m(M) − m(∅)) on mean metrics; precision, recall and AUC against the builtin's ground-truth circuit; ρ: Spearman of the scores against exact patching on a sample of edges.",
    chartNote: "Faithfulness, AUC against the ground truth, CPR and circuit size of every cell.",
    css: [],
    columns: circuitColumns,
    metrics: () => circuitMetrics,
    body: (r, o) => circuitCellBody(r, o.idPrefix, o.headingLevel),
  },
};
