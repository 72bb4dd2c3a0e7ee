import { fmt, show, table, timeOf } from "../../cli/table.ts";
import type { SummaryCell } from "../kind.ts";
import type { CellResult } from "./result.ts";

/** A circuit run's summary: edges, faithfulness and (builtins) precision, recall, AUC against the truth. */
export const circuitSummary = (
  cells: readonly SummaryCell<CellResult>[],
  keys: readonly string[],
): string => {
  const circuit = cells.map((c) => c.result);
  const anyTruth = circuit.some((r) => r.truth !== null);
  const header = [
    "cell",
    "id",
    ...keys,
    keys.includes("method") ? "found by" : "method",
    "edges",
    "faithfulness",
    ...(anyTruth ? ["precision", "recall", "AUC"] : []),
    "time",
  ];
  const rows = cells.map((c, i) => {
    const r = circuit[i]!;
    return [
      String(c.cell.index + 1),
      c.cellId.slice(0, 12),
      ...keys.map((k) => (k in c.cell.varying ? show(c.cell.varying[k]) : "")),
      r.method,
      String(r.edges.filter((e) => e.inGraph).length),
      fmt(r.faithfulness.mean),
      ...(anyTruth ? [fmt(r.truth?.precision), fmt(r.truth?.recall), fmt(r.truth?.auc)] : []),
      timeOf(c),
    ];
  });
  const right = new Set(header.map((_, i) => i).filter((i) => i === 0 || i >= 2 + keys.length + 1));
  return table(header, rows, right);
};
