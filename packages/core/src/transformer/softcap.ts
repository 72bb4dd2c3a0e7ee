import type { GraphBuilder, Value } from "../graph/index.ts";

/**
 * Tanh soft-capping (Gemma 2): cap·tanh(x/cap), which keeps |x| < cap and is ≈ x for |x| ≪ cap.
 * A null (or absent) cap is the identity.
 */
export const softcap = (g: GraphBuilder, x: Value, cap: number | null | undefined): Value =>
  cap == null ? x : g.mul(g.tanh(g.div(x, g.scalar(cap))), g.scalar(cap));
