/**
 * The intervention engine: a plan (captures, interventions, metric, gradients) is data, compiled
 * into the graph and run through the session cache; dataset means, interchange and resample
 * values; metrics over a dataset in chunks; ablations as data.
 */
export {
  Positions,
  Target,
  Intervention,
  Replace,
  Add,
  Scale,
  Subspace,
  ProjectOut,
  MetricKind,
  Metric,
  GradTarget,
  Plan,
  plan,
} from "./spec.ts";
export type { InterventionValues, MetricBinding } from "./bind.ts";
export { runPlan, gradLabel, type PlanValues, type PlanResult } from "./run.ts";
export { exportPlan, type ExportedFeed, type ExportedPlan } from "./export.ts";
export {
  siteMean,
  siteMeans,
  meanPatch,
  interchangePatch,
  resamplePatch,
  type MeanOptions,
} from "./dataset.ts";
export { metricOverDataset } from "./chunked.ts";
export { metricReads } from "./metric.ts";
export { gradcheck, type GradcheckRow } from "./gradcheck.ts";
export { Ablation, resolveAblation, type AblationData, type ResolvedAblation } from "./ablation.ts";
