import { fmt, show, table, timeOf } from "../../cli/table.ts";
import type { CellResult } from "../../results/types.ts";
import type { RunSummary } from "../../run/experiment.ts";

/** A circuit run's summary: edges, faithfulness and (builtins) precision, recall, AUC against the truth. */
export const circuitSummary = (s: RunSummary, keys: readonly string[]): string => {
  const circuit = s.cells.map((c) => c.result as CellResult);
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
  const rows = s.cells.map((c, i) => {
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
