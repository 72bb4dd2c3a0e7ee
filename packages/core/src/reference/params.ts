import { TensorShapeError } from "../errors/index.ts";
import type { ModelConfig } from "../model/config.ts";
import { type Weights, weightSpecs } from "../model/weights.ts";
import { shapeString } from "../tensor/index.ts";
import type { NormParams } from "./norms.ts";

/**
 * The canonical weights (model/weights.ts), checked against the config and grouped the way the
 * forward reads them. Absent optional biases are null (they add nothing). The tensors stay
 * float32 in memory: every element read from them becomes a float64 number exactly, so all the
 * arithmetic is float64 without a float64 copy of the model.
 */
export interface AttentionParams {
  readonly ln1: NormParams;
  /** [H, d, d_head] */
  readonly W_Q: Float32Array;
  /** [H, d_head] */
  readonly b_Q: Float32Array | null;
  /** [H_kv, d, d_head] */
  readonly W_K: Float32Array;
  readonly b_K: Float32Array | null;
  /** [H_kv, d, d_head] */
  readonly W_V: Float32Array;
  readonly b_V: Float32Array | null;
  /** [H, d_head, d] */
  readonly W_O: Float32Array;
  /** [d] */
  readonly b_O: Float32Array | null;
  /** The norm after attention (postNorms), else null. */
  readonly ln1Post: NormParams | null;
}

export interface MlpParams {
  readonly ln2: NormParams;
  /** [d, d_mlp] */
  readonly W_in: Float32Array;
  /** [d_mlp]; never present for gated MLPs */
  readonly b_in: Float32Array | null;
  /** [d, d_mlp]; gated MLPs only */
  readonly W_gate: Float32Array | null;
  /** [d_mlp, d] */
  readonly W_out: Float32Array;
  /** [d] */
  readonly b_out: Float32Array | null;
  /** The norm after the MLP (postNorms), else null. */
  readonly ln2Post: NormParams | null;
}

export interface BlockParams {
  readonly attn: AttentionParams;
  /** null for attention-only models */
  readonly mlp: MlpParams | null;
}

export interface ModelParams {
  /** [vocab, d] */
  readonly W_E: Float32Array;
  /** [n_ctx, d], learned positions only */
  readonly W_pos: Float32Array | null;
  readonly blocks: BlockParams[];
  readonly lnFinal: NormParams;
  /** [d, vocab] */
  readonly W_U: Float32Array;
  /** [vocab] */
  readonly b_U: Float32Array | null;
}

/** Check every tensor against weightSpecs (presence and shape) and upcast. */
export const readParams = (c: ModelConfig, weights: Weights): ModelParams => {
  const specs = new Map(weightSpecs(c).map((s) => [s.name, s]));
  for (const s of specs.values()) {
    const t = weights.get(s.name);
    if (t === undefined) {
      if (s.required)
        throw new TensorShapeError({
          file: "<weights>",
          tensor: s.name,
          expected: shapeString(s.shape),
          found: "absent",
        });
      continue;
    }
    const ok = t.shape.length === s.shape.length && t.shape.every((n, i) => n === s.shape[i]);
    if (!ok || t.data.length !== s.shape.reduce((a, b) => a * b, 1))
      throw new TensorShapeError({
        file: "<weights>",
        tensor: s.name,
        expected: shapeString(s.shape),
        found: shapeString(t.shape),
      });
  }
  const get = (name: string): Float32Array => weights.get(name)!.data;
  const opt = (name: string): Float32Array | null => {
    const t = weights.get(name);
    return t === undefined || !specs.has(name) ? null : t.data;
  };
  const norm = (prefix: string): NormParams => ({
    kind: c.norm,
    eps: c.normEps,
    w: c.norm === "none" ? null : get(`${prefix}.w`),
    b: c.norm === "layernorm" ? get(`${prefix}.b`) : null,
  });
  const blocks: BlockParams[] = [];
  for (let l = 0; l < c.nLayers; l++) {
    const p = `blocks.${l}`;
    blocks.push({
      attn: {
        ln1: norm(`${p}.ln1`),
        W_Q: get(`${p}.attn.W_Q`),
        b_Q: opt(`${p}.attn.b_Q`),
        W_K: get(`${p}.attn.W_K`),
        b_K: opt(`${p}.attn.b_K`),
        W_V: get(`${p}.attn.W_V`),
        b_V: opt(`${p}.attn.b_V`),
        W_O: get(`${p}.attn.W_O`),
        b_O: opt(`${p}.attn.b_O`),
        ln1Post: c.postNorms === true ? norm(`${p}.ln1_post`) : null,
      },
      mlp:
        c.dMlp === null
          ? null
          : {
              ln2: norm(`${p}.ln2`),
              W_in: get(`${p}.mlp.W_in`),
              b_in: c.gatedMlp ? null : opt(`${p}.mlp.b_in`),
              W_gate: c.gatedMlp ? get(`${p}.mlp.W_gate`) : null,
              W_out: get(`${p}.mlp.W_out`),
              b_out: opt(`${p}.mlp.b_out`),
              ln2Post: c.postNorms === true ? norm(`${p}.ln2_post`) : null,
            },
    });
  }
  return {
    W_E: get("embed.W_E"),
    W_pos: c.positional === "learned" ? get("pos_embed.W_pos") : null,
    blocks,
    lnFinal: norm("ln_final"),
    W_U: get("unembed.W_U"),
    b_U: opt("unembed.b_U"),
  };
};
