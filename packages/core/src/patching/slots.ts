import { buildMetricAt, type MetricValues, metricSelect } from "../engine/metric.ts";
import type { MetricKind } from "../engine/spec.ts";
import type { GraphBuilder, Value } from "../graph/index.ts";
import type { ModelConfig, Weights } from "../model/index.ts";
import { softcap } from "../transformer/softcap.ts";

/**
 * The metric from the unembedding's input `final` [b, pos, d], reading the logits at its n slots
 * only: metric.select · (final·W_U + b_U) = (metric.select · final)·W_U + (Σ_pos metric.select)·b_U,
 * so the unembedding (and its backward) runs on [b, n, d] instead of [b, pos, d]; the final
 * soft-cap (Gemma 2) is element-wise, so it applies to the picked logits alone.
 */
export const metricAtSlots = (
  builder: GraphBuilder,
  c: ModelConfig,
  w: Weights,
  metric: MetricKind,
  final: Value,
): MetricValues => {
  const select = metricSelect(builder);
  let picked = builder.matmul(
    builder.matmul(select, final),
    builder.weight("unembed.W_U", w.get("unembed.W_U")!),
  ); //                                                                                 [b, n, V]
  const bU = w.get("unembed.b_U");
  if (bU !== undefined)
    picked = builder.add(
      picked,
      builder.mul(builder.reduceSum(select, [-1]), builder.weight("unembed.b_U", bU)),
    );
  return buildMetricAt(builder, metric, softcap(builder, picked, c.finalSoftcap));
};
