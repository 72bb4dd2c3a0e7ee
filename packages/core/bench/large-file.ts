/**
 * The from-a-file half of `pnpm bench:large`, in a process of its own so its peak RSS is the
 * load's alone. With `--write DIR` it writes the TinyLlama-1.1B-shaped model as a Hugging Face
 * LLaMA folder (config.json + three safetensors shards + model.safetensors.index.json, float32,
 * seeded random weights; one layer at a time, so the writer never holds the model). With
 * `--open DIR` it opens that folder the way a user does (`openModel`: load, weights spilled as
 * they are read, external-data ONNX, session) and runs one forward at 1 × 16, then prints one
 * JSON line: the float32 weight bytes, the peak RSS (VmHWM) from process start to the first
 * forward, and whether the logits are finite.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Effect } from "effect";
import { normals } from "../src/model/index.ts";
import { forward, openModel } from "../src/runtime/index.ts";
import { numel, tensor } from "../src/tensor/index.ts";
import { writeSafetensors } from "../src/weights/index.ts";

/** TinyLlama-1.1B's config.json (the fields our loader reads), as large.ts's config. */
const HF_CONFIG = {
  model_type: "llama",
  hidden_size: 2048,
  num_hidden_layers: 22,
  num_attention_heads: 32,
  num_key_value_heads: 4,
  intermediate_size: 5632,
  vocab_size: 32000,
  max_position_embeddings: 2048,
  rms_norm_eps: 1e-5,
  rope_theta: 10000,
  hidden_act: "silu",
  tie_word_embeddings: false,
};

const SHARDS = 3;

/** One layer's tensors (HF names, nn.Linear [out, in]), each seeded by its own index. */
const layerTensors = (l: number): [string, number[]][] => {
  const d = HF_CONFIG.hidden_size;
  const dh = d / HF_CONFIG.num_attention_heads;
  const kv = HF_CONFIG.num_key_value_heads * dh;
  const m = HF_CONFIG.intermediate_size;
  const p = `model.layers.${l}`;
  return [
    [`${p}.input_layernorm.weight`, [d]],
    [`${p}.self_attn.q_proj.weight`, [d, d]],
    [`${p}.self_attn.k_proj.weight`, [kv, d]],
    [`${p}.self_attn.v_proj.weight`, [kv, d]],
    [`${p}.self_attn.o_proj.weight`, [d, d]],
    [`${p}.post_attention_layernorm.weight`, [d]],
    [`${p}.mlp.gate_proj.weight`, [m, d]],
    [`${p}.mlp.up_proj.weight`, [m, d]],
    [`${p}.mlp.down_proj.weight`, [d, m]],
  ];
};

/** N(0, 0.02²) weights, norms at 1 (a trained model's scale, so the forward stays finite). */
const filled = (name: string, shape: number[], seed: number) =>
  tensor(
    name.endsWith("layernorm.weight") || name === "model.norm.weight"
      ? new Float32Array(numel(shape)).fill(1)
      : normals(seed, numel(shape)).map((x) => x * 0.02),
    shape,
  );

const write = (dir: string): void => {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "config.json"), JSON.stringify(HF_CONFIG));
  const d = HF_CONFIG.hidden_size;
  const V = HF_CONFIG.vocab_size;
  const L = HF_CONFIG.num_hidden_layers;
  const shardOf = (l: number) => Math.min(SHARDS - 1, Math.floor((l * SHARDS) / L));
  const file = (s: number) =>
    `model-${String(s + 1).padStart(5, "0")}-of-${String(SHARDS).padStart(5, "0")}.safetensors`;
  const weightMap: Record<string, string> = {};
  let seed = 1;
  for (let s = 0; s < SHARDS; s++) {
    const names: [string, number[]][] = [];
    if (s === 0) names.push(["model.embed_tokens.weight", [V, d]]);
    for (let l = 0; l < L; l++) if (shardOf(l) === s) names.push(...layerTensors(l));
    if (s === SHARDS - 1) names.push(["model.norm.weight", [d]], ["lm_head.weight", [V, d]]);
    const tensors = new Map(names.map(([n, shape]) => [n, filled(n, shape, seed++)]));
    writeFileSync(join(dir, file(s)), writeSafetensors(tensors));
    for (const [n] of names) weightMap[n] = file(s);
  }
  writeFileSync(join(dir, "model.safetensors.index.json"), JSON.stringify({ weight_map: weightMap }));
};

const peakRss = (): number =>
  Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? Number.NaN) * 1024;

const open = async (dir: string): Promise<void> => {
  const ids = [Array.from({ length: 16 }, (_, i) => (i * 997 + 1) % HF_CONFIG.vocab_size)];
  const result = await Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const model = yield* openModel(dir);
        let params = 0;
        for (const w of model.weights.values()) params += numel(w.shape);
        const out = yield* forward(model.sessions, model, ids);
        return { weightBytes: params * 4, peak: peakRss(), finite: out.logits.data.every(Number.isFinite) };
      }),
    ),
  );
  console.log(JSON.stringify(result));
};

const [flag, dir] = process.argv.slice(2);
if (flag === "--write" && dir !== undefined) write(dir);
else if (flag === "--open" && dir !== undefined) await open(dir);
else {
  console.error("usage: large-file.ts --write DIR | --open DIR");
  process.exit(2);
}
