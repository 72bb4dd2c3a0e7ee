import type { GraphBuilder, Value } from "../graph/index.ts";
import type { Weights } from "../model/index.ts";

/**
 * EAP-IG over inputs inside the fused attribution graph (mode "ig-inputs" of attribution-graph.ts).
 * A run holds `steps` interpolation steps of `examples` examples as rows, step-major: row
 * r = j·examples + i is example i at step j. The graph
 *   - interpolates the token embeddings itself, e_r = e′ + α_r (e − e′) with e = W_E[clean ids]
 *     (the batch's ids) and e′ = W_E[corrupted ids], so no [rows, pos, d] embedding is fed;
 *   - takes Δ = z(x) − z(x′) once per example ([examples, pos, …], not tiled over the steps);
 *   - sums the destinations' gradients over the steps before the contraction with Δ, so the
 *     large GEMMs run once per example, not once per row. Only the norm's x̂-term, which depends
 *     on the step through x̂ and σ, is contracted per row.
 */
export const IG_CORRUPTED_IDS = "edges.ig.corrupted_ids";
/** α of each row, [rows]. */
export const IG_ALPHA = "edges.ig.alpha";
/** Δ per example, in compact form: edges.delta.input, edges.delta.attn.{l}, edges.delta.mlp.{l}. */
export const deltaInput = (part: string): string => `edges.delta.${part}`;
/** The symbolic dims of per-example tensors (rows are "batch"). */
export const EXAMPLES = "examples";

/** The hook at site embed: e′ + α (e − e′) per row, from the clean embeddings `clean`. */
export const interpolatedEmbed = (b: GraphBuilder, w: Weights, clean: Value): Value => {
  const WE = b.weight("embed.W_E", w.get("embed.W_E")!);
  const corrupted = b.gather(WE, b.input(IG_CORRUPTED_IDS, "int64", ["batch", "pos"]), 0);
  const alpha = b.reshape(b.input(IG_ALPHA, "float32", ["batch"]), ["batch", 1, 1]);
  return b.add(corrupted, b.mul(alpha, b.sub(clean, corrupted)));
};

/** The steps of a run, [1] int64: rows (the length of α) / examples (the leading dim of `perExample`). */
export const stepCount = (g: GraphBuilder, perExample: Value): Value => {
  const first = (x: Value) => g.gather(g.shapeOf(x), g.int64s([0], [1], "first"), 0);
  return g.node("Div", [first(g.get(IG_ALPHA)), first(perExample)], "int64", [1]);
};

/**
 * x [rows, …] (rows step-major: row j·examples + i) as [steps, examples, …]; `steps` and
 * `examples` are [1] int64 (stepCount, and the leading dim of a per-example input).
 */
export const splitRows = (g: GraphBuilder, steps: Value, examples: Value, x: Value): Value => {
  const rank = x.shape.length;
  const rest = g.slice(g.shapeOf(x), 0, 1, rank); //                                 [rank − 1]
  const shape = g.node("Concat", [steps, examples, rest], "int64", [rank + 1], {
    axis: { kind: "int", value: 0 },
  });
  return g.node("Reshape", [x, shape], x.dtype, ["steps", EXAMPLES, ...x.shape.slice(1)]);
};
