import type { GraphBuilder, Value } from "../graph/index.ts";
import type { Activation, ModelConfig, Weights } from "../model/index.ts";
import { norm } from "./norm.ts";
import type { SiteRecorder } from "./sites.ts";

/**
 * gelu_tanh(x) = ½x(1 + tanh(√(2/π)(x + 0.044715x³)));  gelu(x) = ½x(1 + erf(x/√2));
 * silu(x) = x·σ(x);  relu(x) = max(0, x).
 */
export const activation = (g: GraphBuilder, act: Activation, x: Value): Value => {
  switch (act) {
    case "relu":
      return g.relu(x);
    case "silu":
      return g.mul(x, g.sigmoid(x));
    case "gelu": {
      const e = g.erf(g.mul(x, g.scalar(Math.SQRT1_2)));
      return g.mul(g.mul(x, g.scalar(0.5)), g.add(e, g.scalar(1)));
    }
    case "gelu_tanh": {
      const cube = g.mul(g.mul(x, x), x);
      const inner = g.mul(g.add(x, g.mul(cube, g.scalar(0.044715))), g.scalar(Math.sqrt(2 / Math.PI)));
      return g.mul(g.mul(x, g.scalar(0.5)), g.add(g.tanh(inner), g.scalar(1)));
    }
  }
};

/**
 * The MLP of block l on its input x [b, p, d]:
 *   pre = LN(x)·W_in + b_in, post = act(pre)             (standard)
 *   pre = LN(x)·W_gate, pre_linear = LN(x)·W_in, post = act(pre) ⊙ pre_linear   (gated, SwiGLU)
 *   mlp_out = post·W_out + b_out                          [b, p, d]
 * With post-norms (Gemma 2): mlp_out = ln2_post(post·W_out + b_out), what the block adds.
 */
export const mlp = (
  g: GraphBuilder,
  c: ModelConfig,
  w: Weights,
  l: number,
  sites: SiteRecorder,
  x: Value,
): Value => {
  const pre = `blocks.${l}`;
  const W = (n: string) => g.weight(`${pre}.mlp.${n}`, w.get(`${pre}.mlp.${n}`)!);
  const opt = (n: string) => (w.has(`${pre}.mlp.${n}`) ? W(n) : null);
  let h = sites.mark(`${pre}.mlp_in`, x);
  const ln2 = norm(g, c, w, `${pre}.ln2`, h, (v) => sites.mark(`${pre}.ln2.scale`, v));
  if (ln2 !== null) h = sites.mark(`${pre}.ln2.normalized`, ln2.normalized);
  let post: Value;
  if (c.gatedMlp) {
    const gate = sites.mark(`${pre}.mlp.pre`, g.matmul(h, W("W_gate")));
    const linear = sites.mark(`${pre}.mlp.pre_linear`, g.matmul(h, W("W_in")));
    post = g.mul(activation(g, c.act, gate), linear);
  } else {
    let p = g.matmul(h, W("W_in"));
    const b = opt("b_in");
    if (b !== null) p = g.add(p, b);
    post = activation(g, c.act, sites.mark(`${pre}.mlp.pre`, p));
  }
  post = sites.mark(`${pre}.mlp.post`, post);
  let out = g.matmul(post, W("W_out"));
  const b = opt("b_out");
  if (b !== null) out = g.add(out, b);
  if (c.postNorms === true) {
    const ln = norm(g, c, w, `${pre}.ln2_post`, out, (v) => sites.mark(`${pre}.ln2_post.scale`, v))!;
    out = sites.mark(`${pre}.ln2_post.normalized`, ln.normalized);
  }
  return sites.mark(`${pre}.mlp_out`, out);
};
