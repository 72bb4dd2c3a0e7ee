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
export { planKey } from "./compile.ts";
export type { InterventionValues, MetricBinding } from "./bind.ts";
export { runPlan, type PlanValues, type PlanResult } from "./run.ts";
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
export { gradLabel } from "./run.ts";
export { Ablation, resolveAblation, type AblationData, type ResolvedAblation } from "./ablation.ts";
