import { UnsupportedError } from "../errors/errors.ts";
import type { ModelConfig } from "../model/config.ts";
import { describeValue, type Fields } from "./fields.ts";
import { type AttentionBiases, llamaConfig } from "./hf-llama.ts";

/**
 * Hugging Face Qwen2 (Qwen2, Qwen2.5): the LLaMA layout and tensor names (hf-llama.ts maps the
 * weights) with a bias on q/k/v_proj, always, and none on o_proj; head tied per
 * tie_word_embeddings; rotary rotate-half over d_head, rope_scaling as for LLaMA. Qwen2Config's
 * defaults are LlamaConfig's for every field read here; attention_bias (not a Qwen2 field) is
 * ignored, as transformers ignores it.
 *
 * Sliding-window attention is not implemented: use_sliding_window true, or a layer_types entry
 * other than "full_attention", is an UnsupportedError. With use_sliding_window false (Qwen2.5's
 * configs), sliding_window and max_window_layers change nothing and are accepted as written.
 */
export const QWEN2_BIASES: AttentionBiases = { qkv: true, o: false };

export const qwen2Config = (f: Fields, name: string): { config: ModelConfig; tied: boolean } => {
  f.unsupportedUnless(
    "use_sliding_window",
    (v) => v === false,
    "false (sliding-window attention is not implemented)",
  );
  if (f.has("layer_types")) {
    const types = f.raw("layer_types");
    if (!Array.isArray(types)) f.fail("layer_types", 'a list of "full_attention"', types);
    const l = (types as unknown[]).findIndex((t) => t !== "full_attention");
    if (l >= 0) {
      throw new UnsupportedError({
        file: f.file,
        what: `config field layer_types[${l}]`,
        expected: '"full_attention" (sliding-window attention is not implemented)',
        found: describeValue((types as unknown[])[l]),
      });
    }
  }
  const { config, tied } = llamaConfig(f, name);
  return { config: { ...config, family: "qwen2" }, tied };
};
