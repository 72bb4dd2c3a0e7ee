import { type HostTensor, numel } from "../tensor/index.ts";
import type { ModelConfig } from "./config.ts";

/**
 * Canonical weight names and shapes (TransformerLens layout: matrices are [in, out], y = x·W).
 * Every loader maps its file's tensors onto these names; absent biases are simply absent
 * (the builder then emits no Add), never stored as zeros.
 *
 *   embed.W_E               [vocab, d]
 *   pos_embed.W_pos         [n_ctx, d]            positional === "learned"
 *   blocks.{l}.ln1.w / .b   [d]                    .b only for layernorm
 *   blocks.{l}.attn.W_Q     [H, d, d_head]         b_Q [H, d_head]        (optional)
 *   blocks.{l}.attn.W_K     [H_kv, d, d_head]      b_K [H_kv, d_head]     (optional)
 *   blocks.{l}.attn.W_V     [H_kv, d, d_head]      b_V [H_kv, d_head]     (optional)
 *   blocks.{l}.attn.W_O     [H, d_head, d]         b_O [d]                (optional; none with postNorms)
 *   blocks.{l}.ln1_post.w   [d]                    postNorms only (.b for layernorm)
 *   blocks.{l}.ln2.w / .b   [d]                    when dMlp !== null
 *   blocks.{l}.mlp.W_in     [d, d_mlp]             b_in [d_mlp]           (optional)
 *   blocks.{l}.mlp.W_gate   [d, d_mlp]             gatedMlp only; no bias
 *   blocks.{l}.mlp.W_out    [d_mlp, d]             b_out [d]              (optional)
 *   blocks.{l}.ln2_post.w   [d]                    postNorms and dMlp !== null
 *   ln_final.w / .b         [d]
 *   unembed.W_U             [d, vocab]             b_U [vocab]            (optional)
 *
 * Tied embeddings are resolved by the loader: unembed.W_U is always present (the transpose of W_E).
 */
export type Weights = ReadonlyMap<string, HostTensor>;

/**
 * A model as every method sees it: its config and its weights. What `openModel` returns carries
 * more (tokenizer, source); functions that only build and run graphs ask for this much.
 */
/** Bytes of the weights as float32 (what ORT holds of them), for size rules such as the arena's. */
export const weightBytes = (w: Weights): number => {
  let bytes = 0;
  for (const t of w.values()) bytes += numel(t.shape) * 4;
  return bytes;
};

export interface Model {
  readonly config: ModelConfig;
  readonly weights: Weights;
}

export interface WeightSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly required: boolean;
}

/**
 * Every canonical tensor the config allows, with its shape and whether it must be present.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Model, Weights } from "@patchbay/core";
 * import "@patchbay/zoo";
 *
 * const { config } = Weights.loadModelSync("builtin:induction");
 * const wq = Model.weightSpecs(config).find((s) => s.name === "blocks.0.attn.W_Q");
 * assert.deepEqual(wq, { name: "blocks.0.attn.W_Q", shape: [4, 136, 32], required: true }); // [head, d_model, d_head]
 * ```
 */
export const weightSpecs = (c: ModelConfig): WeightSpec[] => {
  const d = c.dModel;
  const specs: WeightSpec[] = [];
  const add = (name: string, shape: number[], required: boolean) => specs.push({ name, shape, required });
  const norm = (prefix: string) => {
    if (c.norm === "none") return;
    add(`${prefix}.w`, [d], true);
    if (c.norm === "layernorm") add(`${prefix}.b`, [d], true);
  };
  add("embed.W_E", [c.vocabSize, d], true);
  if (c.positional === "learned") add("pos_embed.W_pos", [c.nCtx, d], true);
  for (let l = 0; l < c.nLayers; l++) {
    const b = `blocks.${l}`;
    norm(`${b}.ln1`);
    add(`${b}.attn.W_Q`, [c.nHeads, d, c.dHead], true);
    add(`${b}.attn.b_Q`, [c.nHeads, c.dHead], false);
    add(`${b}.attn.W_K`, [c.nKvHeads, d, c.dHead], true);
    add(`${b}.attn.b_K`, [c.nKvHeads, c.dHead], false);
    add(`${b}.attn.W_V`, [c.nKvHeads, d, c.dHead], true);
    add(`${b}.attn.b_V`, [c.nKvHeads, c.dHead], false);
    add(`${b}.attn.W_O`, [c.nHeads, c.dHead, d], true);
    if (c.postNorms === true) norm(`${b}.ln1_post`);
    else add(`${b}.attn.b_O`, [d], false);
    if (c.dMlp !== null) {
      norm(`${b}.ln2`);
      add(`${b}.mlp.W_in`, [d, c.dMlp], true);
      if (c.gatedMlp) add(`${b}.mlp.W_gate`, [d, c.dMlp], true);
      else add(`${b}.mlp.b_in`, [c.dMlp], false);
      add(`${b}.mlp.W_out`, [c.dMlp, d], true);
      add(`${b}.mlp.b_out`, [d], false);
      if (c.postNorms === true) norm(`${b}.ln2_post`);
    }
  }
  norm("ln_final");
  add("unembed.W_U", [d, c.vocabSize], true);
  add("unembed.b_U", [c.vocabSize], false);
  return specs;
};
