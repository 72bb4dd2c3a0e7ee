import type { ModelConfig } from "../model/config.ts";
import { activation, linear } from "./math.ts";
import { type Normalized, normalizeRows } from "./norms.ts";
import type { MlpParams } from "./params.ts";

/**
 * The MLP, on R = B·P row vectors of width d, with hidden width m = d_mlp:
 *   plain:  pre = x·W_in + b_in,  post = act(pre)
 *   gated:  pre = x·W_gate,  pre_linear = x·W_in,  post = act(pre) ⊙ pre_linear
 *   mlp_out = post·W_out + b_out
 * where x = ln2(mlp_in); with post-norms mlp_out = ln2_post(post·W_out + b_out).
 */
export interface MlpActivations {
  /** ln2 on mlp_in: normalized [R, d], scale [R] (scale null without a norm) */
  readonly ln2: Normalized;
  /** [R, m] */
  readonly pre: Float64Array;
  /** [R, m]; gated MLPs only */
  readonly preLinear: Float64Array | null;
  /** [R, m] */
  readonly post: Float64Array;
  /** ln2_post on the MLP's output (post-norms only) */
  readonly ln2Post: Normalized | null;
  /** [R, d] */
  readonly mlpOut: Float64Array;
}

export const mlp = (c: ModelConfig, p: MlpParams, mlpIn: Float64Array, rows: number): MlpActivations => {
  const d = c.dModel;
  const m = c.dMlp!;
  const act = activation(c.act);

  // x = ln2(mlp_in)   [R, d]
  const ln2 = normalizeRows(p.ln2, mlpIn, rows, d);
  const x = ln2.normalized;

  let pre: Float64Array;
  let preLinear: Float64Array | null = null;
  const post = new Float64Array(rows * m);
  if (p.W_gate !== null) {
    // pre = x·W_gate;  pre_linear = x·W_in;  post = act(pre) ⊙ pre_linear   [R, m]
    pre = linear(x, rows, d, p.W_gate, m);
    preLinear = linear(x, rows, d, p.W_in, m);
    for (let i = 0; i < rows * m; i++) post[i] = act(pre[i]!) * preLinear[i]!;
  } else {
    // pre = x·W_in + b_in;  post = act(pre)   [R, m]
    pre = linear(x, rows, d, p.W_in, m, p.b_in);
    for (let i = 0; i < rows * m; i++) post[i] = act(pre[i]!);
  }

  // mlp_out = post·W_out + b_out   [R, d]
  const out = linear(post, rows, m, p.W_out, d, p.b_out);
  // post-norms: mlp_out = ln2_post(post·W_out + b_out)
  const ln2Post = p.ln2Post === null ? null : normalizeRows(p.ln2Post, out, rows, d);
  return { ln2, pre, preLinear, post, ln2Post, mlpOut: ln2Post?.normalized ?? out };
};
