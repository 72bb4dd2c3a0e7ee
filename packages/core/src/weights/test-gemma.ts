/** Gemma checkpoints derived from tiny-gemma2, for the weights and forward tests. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { testdataPath } from "../testing/testdata.ts";
import { readSafetensors } from "./safetensors.ts";
import { type GgufKv, type GgufTensorSpec, makeGguf } from "./test-gguf.ts";
import { derivedFolder, f32Bytes, renamed } from "./test-support.ts";

/**
 * tiny-gemma2's weights as a Gemma (1) checkpoint: no post-norms, pre_feedforward → post_attention,
 * no Gemma 2 config keys. A derived fixture: there is no PyTorch oracle for it.
 */
export const gemma1Folder = (config: (c: Record<string, unknown>) => Record<string, unknown> = (c) => c) =>
  derivedFolder(testdataPath("fixtures", "tiny-gemma2"), {
    tensors: renamed((n) =>
      n.endsWith("post_attention_layernorm.weight") || n.endsWith("post_feedforward_layernorm.weight")
        ? null
        : n.replace("pre_feedforward_layernorm", "post_attention_layernorm"),
    ),
    config: (c) => {
      const {
        query_pre_attn_scalar: _q,
        attn_logit_softcapping: _a,
        final_logit_softcapping: _f,
        sliding_window: _s,
        hidden_activation: _h,
        ...rest
      } = c;
      // Gemma's first configs said exact "gelu" by mistake; transformers runs tanh GELU anyway
      return config({
        ...rest,
        model_type: "gemma",
        architectures: ["GemmaForCausalLM"],
        hidden_act: "gelu",
      });
    },
  });

/**
 * tiny-gemma2 as llama.cpp's converter would write it: architecture "gemma2", F32 tensors under
 * llama.cpp's names, norm weights stored as 1 + w (added in float32), the embedding unscaled, no
 * output.weight (tied). `kvs` replaces or adds metadata by key, `dropKeys` removes some, `drop`
 * leaves tensors out; `layers` repeats the fixture's layers cyclically (block l = fixture l mod 3).
 */
export const gemma2Gguf = (
  opts: { kvs?: GgufKv[]; dropKeys?: string[]; drop?: (name: string) => boolean; layers?: number } = {},
): Uint8Array => {
  const { kvs = [], dropKeys = [], drop = () => false } = opts;
  const dir = testdataPath("fixtures", "tiny-gemma2");
  const cfg = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as Record<string, number>;
  const hf = readSafetensors(join(dir, "model.safetensors")).tensors;
  const names: [string, string][] = [
    ["model.embed_tokens.weight", "token_embd.weight"],
    ["model.norm.weight", "output_norm.weight"],
  ];
  const layers = opts.layers ?? cfg.num_hidden_layers!;
  for (let l = 0; l < layers; l++)
    for (const [from, to] of [
      ["input_layernorm", "attn_norm"],
      ["post_attention_layernorm", "post_attention_norm"],
      ["pre_feedforward_layernorm", "ffn_norm"],
      ["post_feedforward_layernorm", "post_ffw_norm"],
      ["self_attn.q_proj", "attn_q"],
      ["self_attn.k_proj", "attn_k"],
      ["self_attn.v_proj", "attn_v"],
      ["self_attn.o_proj", "attn_output"],
      ["mlp.gate_proj", "ffn_gate"],
      ["mlp.up_proj", "ffn_up"],
      ["mlp.down_proj", "ffn_down"],
    ])
      names.push([`model.layers.${l % cfg.num_hidden_layers!}.${from}.weight`, `blk.${l}.${to}.weight`]);
  const tensors: GgufTensorSpec[] = names
    .filter(([, to]) => !drop(to))
    .map(([from, to]) => {
      const t = hf.get(from)!;
      const data = from.endsWith("norm.weight") ? t.data.map((x) => 1 + x) : t.data;
      return { name: to, ne: [...t.shape].reverse(), type: 0, bytes: f32Bytes(data) };
    });
  const base: GgufKv[] = [
    { key: "general.architecture", type: "string", value: "gemma2" },
    { key: "gemma2.context_length", type: "u32", value: cfg.max_position_embeddings! },
    { key: "gemma2.embedding_length", type: "u32", value: cfg.hidden_size! },
    { key: "gemma2.block_count", type: "u32", value: layers },
    { key: "gemma2.feed_forward_length", type: "u32", value: cfg.intermediate_size! },
    { key: "gemma2.attention.head_count", type: "u32", value: cfg.num_attention_heads! },
    { key: "gemma2.attention.head_count_kv", type: "u32", value: cfg.num_key_value_heads! },
    { key: "gemma2.attention.key_length", type: "u32", value: cfg.head_dim! },
    { key: "gemma2.attention.value_length", type: "u32", value: cfg.head_dim! },
    { key: "gemma2.attention.layer_norm_rms_epsilon", type: "f32", value: cfg.rms_norm_eps! },
    { key: "gemma2.attn_logit_softcapping", type: "f32", value: cfg.attn_logit_softcapping! },
    { key: "gemma2.final_logit_softcapping", type: "f32", value: cfg.final_logit_softcapping! },
    { key: "gemma2.attention.sliding_window", type: "u32", value: cfg.sliding_window! },
    { key: "gemma2.rope.freq_base", type: "f32", value: cfg.rope_theta! },
    {
      key: "tokenizer.ggml.tokens",
      type: "strings",
      value: Array.from({ length: cfg.vocab_size! }, (_, i) => `t${i}`),
    },
  ];
  const keys = new Set([...kvs.map((k) => k.key), ...dropKeys]);
  return makeGguf([...base.filter((k) => !keys.has(k.key)), ...kvs], tensors);
};
