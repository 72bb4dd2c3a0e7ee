import type { RowOf } from "../../results/table-columns.ts";
import type { CellResult } from "./result.ts";
import { num, specText } from "../../results/values.ts";
import type { CIRCUIT_COLUMNS } from "./columns.ts";

/** A circuit cell's values of the run table's circuit columns (columns.ts). */
export const circuitRow = (r: CellResult): RowOf<typeof CIRCUIT_COLUMNS> => ({
  methodLabel: r.method,
  ablation: specText(r.spec, "ablation"),
  metric: r.metric.kind,
  granularity: specText(r.spec, "granularity"),
  selection: specText(r.spec, "selection._tag"),
  edges: r.edges.filter((e) => e.inGraph).length,
  edgesTotal: r.edges.length,
  faithfulness: num(r.faithfulness.mean),
  faithfulnessMedian: num(r.faithfulness.perExample.median),
  faithfulnessMin: num(r.faithfulness.perExample.min),
  faithfulnessMax: num(r.faithfulness.perExample.max),
  metricFull: num(r.metric.full),
  metricEmpty: num(r.metric.empty),
  metricCircuit: num(r.metric.circuit),
  spearman: num(r.spearmanVsExact),
  precision: num(r.truth?.precision),
  recall: num(r.truth?.recall),
  auc: num(r.truth?.auc),
  cpr: num(r.curve?.cpr),
  cmd: num(r.curve?.cmd),
});
