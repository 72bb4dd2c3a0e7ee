import { float, int, text } from "../../results/table-columns.ts";

export const CIRCUIT_COLUMNS = {
  methodLabel: text("method", "the method with its parameters, as discovery names it (acdc(τ=0.5, normal))"),
  ablation: text("ablation", "how edges are ablated: resample | zero | mean | mean-positional"),
  metric: text("metric", "the task metric (logit-diff, …)"),
  granularity: text("granularity", "head | layer"),
  selection: text(
    "selection",
    "how the circuit was chosen from the scores (top-n, threshold, greedy, faithful); null: the default (top 5 %) or ACDC's own",
  ),
  edges: int("edges in circuit", "edges in the circuit"),
  edgesTotal: int("edges", "edges in the layout"),
  faithfulness: float(
    "faithfulness",
    "faithfulness of the circuit on mean metrics: (m(C) − m(∅)) / (m(M) − m(∅))",
  ),
  faithfulnessMedian: float("median faithfulness", "median per-example faithfulness"),
  faithfulnessMin: float("min faithfulness", "minimum per-example faithfulness"),
  faithfulnessMax: float("max faithfulness", "maximum per-example faithfulness"),
  metricFull: float("metric, full model", "the metric of the full model, m(M)"),
  metricEmpty: float("metric, all ablated", "the metric with every edge ablated, m(∅)"),
  metricCircuit: float("metric, circuit", "the metric of the circuit, m(C)"),
  spearman: float(
    "ρ vs exact",
    "Spearman correlation of the scores with exact patching on a sample of edges",
  ),
  precision: float("precision", "precision against the builtin's ground-truth circuit"),
  recall: float("recall", "recall against the ground-truth circuit"),
  auc: float("AUC", "ROC AUC of |score| against the ground-truth circuit"),
  cpr: float("CPR", "MIB's CPR: area under the faithfulness curve"),
  cmd: float("CMD", "MIB's CMD: area under |1 − faithfulness|"),
} as const;
