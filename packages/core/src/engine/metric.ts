import type { GraphBuilder, Value } from "../graph/index.ts";
import type { MetricKind } from "./spec.ts";

/**
 * Metric inputs (bound per run; n = metric positions per example, padded with weight 0):
 *   metric.select    [batch, n, pos]     one-hot: slot j of example b reads position pos_bj
 *   metric.weight    [batch, n]          1 for real slots, 0 for padding
 *   metric.answer    [batch, n, d_vocab] one-hot answer id
 *   metric.wrong     [batch, n, d_vocab] one-hot wrong id (logit-diff, prob-diff)
 *   metric.reference [batch, n, d_vocab] reference logits (kl)
 * Outputs: `metric` [batch] (each example's weighted mean over its slots) and `metric_mean` [].
 * One-hot selections keep the metric a chain of MatMul/Mul/ReduceSum: exact, and differentiable
 * by the same rules as the model.
 */
export const METRIC = "metric";
export const METRIC_MEAN = "metric_mean";

/**
 * Which per-example ids a metric reads: `answers` (the correct token), `wrong` (the competing
 * token, for differences) and `reference` (reference logits, kl). One table, so the binding, task
 * files and methods agree on when `wrong` is required.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { metricReads } from "@patchbay/core/engine";
 *
 * assert.deepEqual(metricReads("logit-diff"), { answers: true, wrong: true, reference: false });
 * ```
 */
export const metricReads = (
  kind: MetricKind,
): { readonly answers: boolean; readonly wrong: boolean; readonly reference: boolean } => {
  switch (kind) {
    case "logit-diff":
    case "prob-diff":
      return { answers: true, wrong: true, reference: false };
    case "logprob":
    case "prob":
    case "cross-entropy":
      return { answers: true, wrong: false, reference: false };
    case "kl":
      return { answers: false, wrong: false, reference: true };
  }
};

export interface MetricValues {
  readonly perExample: Value; // [batch]
  readonly mean: Value; //       []
}

/** The metric.select input [batch, n, pos], declared on first use. */
export const metricSelect = (g: GraphBuilder): Value =>
  g.has("metric.select")
    ? g.get("metric.select")
    : g.input("metric.select", "float32", ["batch", "n", "pos"]);

export const buildMetric = (g: GraphBuilder, kind: MetricKind, logits: Value): MetricValues =>
  buildMetricAt(g, kind, g.matmul(metricSelect(g), logits));

/** The metric from the logits at the metric slots, picked = metric.select · logits [batch, n, V]. */
export const buildMetricAt = (g: GraphBuilder, kind: MetricKind, picked: Value): MetricValues => {
  const V = picked.shape[2]!;
  const weight = g.input("metric.weight", "float32", ["batch", "n"]);
  const dot = (a: Value, b: Value) => g.reduceSum(g.mul(a, b), [-1], false); // Σ_v a ⊙ b → [batch, n]
  const answer = () => g.input("metric.answer", "float32", ["batch", "n", V]);
  const wrong = () => g.input("metric.wrong", "float32", ["batch", "n", V]);
  let v: Value;
  switch (kind) {
    case "logit-diff":
      v = dot(g.sub(answer(), wrong()), picked);
      break;
    case "prob-diff":
      v = dot(g.sub(answer(), wrong()), g.softmax(picked, -1));
      break;
    case "logprob":
      v = dot(answer(), g.logSoftmax(picked, -1));
      break;
    case "prob":
      v = dot(answer(), g.softmax(picked, -1));
      break;
    case "cross-entropy":
      v = g.neg(dot(answer(), g.logSoftmax(picked, -1)));
      break;
    case "kl": {
      // KL(p_ref ‖ p) = Σ_v p_ref (log p_ref − log p)
      const ref = g.input("metric.reference", "float32", ["batch", "n", V]);
      const logRef = g.logSoftmax(ref, -1);
      v = dot(g.softmax(ref, -1), g.sub(logRef, g.logSoftmax(picked, -1)));
      break;
    }
  }
  // per example: Σ_j w_j v_j / Σ_j w_j
  const perExample = g.div(g.reduceSum(g.mul(v, weight), [1], false), g.reduceSum(weight, [1], false));
  const named = g.named(perExample, METRIC);
  const mean = g.named(g.reduceMean(named, [0], false), METRIC_MEAN);
  return { perExample: named, mean };
};
