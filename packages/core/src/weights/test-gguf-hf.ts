import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type GgufKv, type GgufTensorSpec, makeGguf } from "./test-gguf.ts";
import { f32Bytes, independentSafetensors } from "./test-support.ts";

/**
 * A float32 Hugging Face LLaMA-layout folder (config.json + model.safetensors) written as GGUF the
 * way llama.cpp's convert_hf_to_gguf.py writes it, for the tests (F32 tensors only):
 * - names: model.layers.N.self_attn.q_proj → blk.N.attn_q, o_proj → attn_output, mlp.gate_proj →
 *   ffn_gate, input_layernorm → attn_norm, post_attention_layernorm → ffn_norm, … (ne = shape reversed);
 * - "llama": q/k rows permuted back from rotate-half to adjacent pairs, per head: row 2j + s of the
 *   GGUF head is row s·dh/2 + j of the Hugging Face head; "qwen2": rows as they are;
 * - rope_scaling "llama3": the tensor rope_freqs.weight of per-pair divisors, computed as the
 *   converter computes them (1 below the high-frequency wavelength, the factor above the
 *   low-frequency one, 1 / ((1 − s)/factor + s) between).
 * `kvs` replace or extend the metadata; `drop` leaves tensors out; `ropeFreqs: false` omits rope_freqs.
 */
interface HfConfig {
  readonly hidden_size: number;
  readonly intermediate_size: number;
  readonly num_hidden_layers: number;
  readonly num_attention_heads: number;
  readonly num_key_value_heads?: number;
  readonly head_dim?: number;
  readonly max_position_embeddings: number;
  readonly rms_norm_eps: number;
  readonly rope_theta?: number;
  readonly rope_scaling?: Readonly<Record<string, number | string>>;
}

export const ggufFromHf = (
  folder: string,
  arch: "llama" | "qwen2",
  opts: { kvs?: GgufKv[]; drop?: (name: string) => boolean; ropeFreqs?: boolean } = {},
): Uint8Array => {
  const cfg = JSON.parse(readFileSync(join(folder, "config.json"), "utf8")) as HfConfig;
  const st = independentSafetensors(join(folder, "model.safetensors"));
  const d = cfg.hidden_size;
  const H = cfg.num_attention_heads;
  const K = cfg.num_key_value_heads ?? H;
  const dh = cfg.head_dim ?? d / H;
  const base = cfg.rope_theta ?? 10000;
  const u32 = (key: string, value: number): GgufKv => ({ key: `${arch}.${key}`, type: "u32", value });
  const f32 = (key: string, value: number): GgufKv => ({ key: `${arch}.${key}`, type: "f32", value });
  const kvs: GgufKv[] = [
    { key: "general.architecture", type: "string", value: arch },
    u32("context_length", cfg.max_position_embeddings),
    u32("embedding_length", d),
    u32("feed_forward_length", cfg.intermediate_size),
    u32("block_count", cfg.num_hidden_layers),
    u32("attention.head_count", H),
    u32("attention.head_count_kv", K),
    u32("attention.key_length", dh),
    u32("attention.value_length", dh),
    u32("rope.dimension_count", dh),
    f32("rope.freq_base", base),
    f32("attention.layer_norm_rms_epsilon", cfg.rms_norm_eps),
  ];
  for (const kv of opts.kvs ?? []) {
    const at = kvs.findIndex((k) => k.key === kv.key);
    if (at >= 0) kvs[at] = kv;
    else kvs.push(kv);
  }
  /** Rows of n heads of dh from rotate-half order to adjacent pairs (llama.cpp's permute). */
  const permute = (data: Float32Array, n: number): Float32Array => {
    const cols = data.length / (n * dh);
    const out = new Float32Array(data.length);
    for (let h = 0; h < n; h++)
      for (let j = 0; j < dh / 2; j++)
        for (let s = 0; s < 2; s++) {
          const from = (h * dh + s * (dh / 2) + j) * cols;
          out.set(data.subarray(from, from + cols), (h * dh + 2 * j + s) * cols);
        }
    return out;
  };
  const rename = (hf: string): string | null => {
    const fixed: Record<string, string> = {
      "model.embed_tokens.weight": "token_embd.weight",
      "model.norm.weight": "output_norm.weight",
      "lm_head.weight": "output.weight",
    };
    if (fixed[hf] !== undefined) return fixed[hf];
    const m = /^model\.layers\.(\d+)\.(.+)$/.exec(hf);
    if (m === null) return null;
    const parts: Record<string, string> = {
      "input_layernorm.weight": "attn_norm.weight",
      "post_attention_layernorm.weight": "ffn_norm.weight",
      "self_attn.q_proj.weight": "attn_q.weight",
      "self_attn.q_proj.bias": "attn_q.bias",
      "self_attn.k_proj.weight": "attn_k.weight",
      "self_attn.k_proj.bias": "attn_k.bias",
      "self_attn.v_proj.weight": "attn_v.weight",
      "self_attn.v_proj.bias": "attn_v.bias",
      "self_attn.o_proj.weight": "attn_output.weight",
      "mlp.gate_proj.weight": "ffn_gate.weight",
      "mlp.up_proj.weight": "ffn_up.weight",
      "mlp.down_proj.weight": "ffn_down.weight",
    };
    const p = parts[m[2]!];
    return p === undefined ? null : `blk.${m[1]}.${p}`;
  };
  const tensors: GgufTensorSpec[] = [];
  for (const [hf, t] of st) {
    const name = rename(hf);
    if (name === null) throw new Error(`no GGUF name for ${hf}`);
    if (opts.drop?.(name)) continue;
    let data = t.data;
    if (arch === "llama" && /attn_q\./.test(name)) data = permute(data, H);
    if (arch === "llama" && /attn_k\./.test(name)) data = permute(data, K);
    tensors.push({ name, ne: [...t.shape].reverse(), type: 0, bytes: f32Bytes(data) });
  }
  const rs = cfg.rope_scaling;
  if ((rs?.rope_type ?? rs?.type) === "llama3" && opts.ropeFreqs !== false) {
    const factor = rs!.factor as number;
    const low = rs!.low_freq_factor as number;
    const high = rs!.high_freq_factor as number;
    const old = rs!.original_max_position_embeddings as number;
    const divisors = Array.from({ length: dh / 2 }, (_, i) => {
      const wavelen = 2 * Math.PI * base ** ((2 * i) / dh); // 2π / f_i
      if (wavelen < old / high) return 1;
      if (wavelen > old / low) return factor;
      const smooth = (old / wavelen - low) / (high - low);
      return 1 / ((1 - smooth) / factor + smooth);
    });
    if (!opts.drop?.("rope_freqs.weight"))
      tensors.push({ name: "rope_freqs.weight", ne: [dh / 2], type: 0, bytes: f32Bytes(divisors) });
  }
  return makeGguf(kvs, tensors);
};
