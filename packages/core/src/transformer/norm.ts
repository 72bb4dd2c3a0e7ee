import type { GraphBuilder, Value } from "../graph/index.ts";
import type { ModelConfig } from "../model/index.ts";
import type { Weights } from "../model/index.ts";

/**
 * Normalisation over the last axis, for any leading shape ([b,p,d] or per head [b,p,h,d]).
 *   LayerNorm: scale = √(mean((x − μ)²) + eps),  out = (x − μ)/scale · w + b
 *   RMSNorm:   scale = √(mean(x²) + eps),         out = x/scale · w
 * Returns the scale ([..., 1]) and the normalized output, both sites. `atScale` passes the scale
 * through its site before it divides (so a plan that changes the scale changes the output).
 */
export const norm = (
  g: GraphBuilder,
  c: ModelConfig,
  w: Weights,
  prefix: string,
  x: Value,
  atScale: (scale: Value) => Value = (s) => s,
): { scale: Value; normalized: Value } | null => {
  if (c.norm === "none") return null;
  const eps = g.scalar(c.normEps);
  const weight = g.weight(`${prefix}.w`, w.get(`${prefix}.w`)!);
  if (c.norm === "layernorm") {
    const centered = g.sub(x, g.reduceMean(x, [-1])); //         x − μ
    const variance = g.reduceMean(g.mul(centered, centered), [-1]); // biased variance
    const scale = atScale(g.sqrt(g.add(variance, eps)));
    const normalized = g.add(
      g.mul(g.div(centered, scale), weight),
      g.weight(`${prefix}.b`, w.get(`${prefix}.b`)!),
    );
    return { scale, normalized };
  }
  const scale = atScale(g.sqrt(g.add(g.reduceMean(g.mul(x, x), [-1]), eps)));
  return { scale, normalized: g.mul(g.div(x, scale), weight) };
};
