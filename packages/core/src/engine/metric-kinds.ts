/**
 * The metric kinds (spec.ts documents each). A plain list, importable without the engine: the
 * CLI's usage and its choice errors read it, and the `MetricKind` Schema is built from it.
 */
export const METRIC_KINDS = ["logit-diff", "prob-diff", "logprob", "prob", "cross-entropy", "kl"] as const;
