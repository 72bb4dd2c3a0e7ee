import type { GraphBuilder, Value } from "../graph/index.ts";
import type { RotaryConfig } from "../model/index.ts";
import { rotaryFrequencies } from "../model/rotary.ts";
import { tensor } from "../tensor/index.ts";

/**
 * Rotary position embedding. Pair i of the first r dims of a head rotates by θ = p · f_i, with
 * f_i = base^(−2i/r) rescaled per the config's scaling (model/rotary.ts):
 *   (a, b) → (a cos θ − b sin θ, a sin θ + b cos θ)
 * "half" pairs dim i with i + r/2 (GPT-NeoX / HF LLaMA); "interleaved" pairs 2i with 2i+1
 * (llama2.c). Dims r..d_head pass through.
 */
export interface RotaryTables {
  /** cos θ, sin θ: [batch, pos, 1, r/2] */
  readonly cos: Value;
  readonly sin: Value;
}

export const rotaryTables = (g: GraphBuilder, r: RotaryConfig, positions: Value): RotaryTables => {
  const half = r.dim / 2;
  const invFreq = Float32Array.from(rotaryFrequencies(r));
  const freq = g.weight("rotary.inv_freq", tensor(invFreq, [half])); //      [r/2]
  const p = g.unsqueeze(g.cast(positions, "float32"), -1); //                 [batch, pos, 1]
  const angle = g.unsqueeze(g.mul(p, freq), 2); //                            [batch, pos, 1, r/2]
  return { cos: g.cos(angle), sin: g.sin(angle) };
};

/** x: [batch, pos, heads, d_head] → the same shape, rotated. */
export const applyRotary = (g: GraphBuilder, r: RotaryConfig, t: RotaryTables, x: Value): Value => {
  const dHead = x.shape[3] as number;
  const half = r.dim / 2;
  const rest = dHead > r.dim ? [g.slice(x, -1, r.dim, dHead)] : [];
  if (r.style === "half") {
    const a = g.slice(x, -1, 0, half); //        [b, p, h, r/2]
    const b = g.slice(x, -1, half, r.dim);
    const ra = g.sub(g.mul(a, t.cos), g.mul(b, t.sin));
    const rb = g.add(g.mul(a, t.sin), g.mul(b, t.cos));
    return g.concat([ra, rb, ...rest], -1);
  }
  const [B, P, H] = x.shape;
  const pairs = g.reshape(g.slice(x, -1, 0, r.dim), [B!, P!, H!, half, 2]); // [b, p, h, r/2, 2]
  const a = g.slice(pairs, -1, 0, 1); //                                       [b, p, h, r/2, 1]
  const b = g.slice(pairs, -1, 1, 2);
  const cos = g.unsqueeze(t.cos, -1); //                                       [b, p, 1, r/2, 1]
  const sin = g.unsqueeze(t.sin, -1);
  const ra = g.sub(g.mul(a, cos), g.mul(b, sin));
  const rb = g.add(g.mul(a, sin), g.mul(b, cos));
  const rotated = g.reshape(g.concat([ra, rb], -1), [B!, P!, H!, r.dim]);
  return rest.length > 0 ? g.concat([rotated, ...rest], -1) : rotated;
};
