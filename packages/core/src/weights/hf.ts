import { existsSync, readdirSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import {
  ConfigError,
  ModelNotFoundError,
  TensorShapeError,
  UnsupportedError,
  WeightFileError,
} from "../errors/errors.ts";
import { describeValue, Fields, readJsonObject } from "./fields.ts";
import { gpt2Config, gpt2Weights } from "./hf-gpt2.ts";
import { gemmaConfig, gemmaWeights } from "./hf-gemma.ts";
import { llamaConfig, llamaWeights, mistralConfig } from "./hf-llama.ts";
import { QWEN2_BIASES, qwen2Config } from "./hf-qwen2.ts";
import { neoxConfig, neoxWeights } from "./hf-neox.ts";
import { safetensorsTable } from "./safetensors.ts";
import type { Mapped, TensorEntry, TensorTable } from "./table.ts";

export const SINGLE = "model.safetensors";
export const INDEX = "model.safetensors.index.json";

/**
 * A sharded checkpoint: `model.safetensors.index.json` = {"weight_map": {tensor: shard file}}.
 * Every shard header is parsed and validated up front; a tensor the index places in a shard that
 * does not hold it is a TensorShapeError naming the shard.
 */
export const shardedTable = (indexPath: string): TensorTable => {
  const folder = dirname(indexPath);
  const index = readJsonObject(indexPath);
  const map = index.weight_map;
  if (typeof map !== "object" || map === null || Array.isArray(map)) {
    throw new ConfigError({
      file: indexPath,
      field: "weight_map",
      expected: "an object {tensor name: shard file}",
      found: describeValue(map),
    });
  }
  const placement = Object.entries(map as Record<string, unknown>);
  const shards = new Map<string, TensorTable>();
  for (const [tensor, shard] of placement) {
    if (typeof shard !== "string" || shard === "" || shard !== basename(shard) || shard === "..") {
      throw new ConfigError({
        file: indexPath,
        field: `weight_map.${tensor}`,
        expected: "a shard file name in the same folder",
        found: describeValue(shard),
      });
    }
    if (!shards.has(shard)) shards.set(shard, safetensorsTable(join(folder, shard)));
  }
  const owner = new Map<string, TensorTable>();
  for (const [tensor, shard] of placement) {
    const table = shards.get(shard as string)!;
    if (table.entry(tensor) === undefined) {
      throw new TensorShapeError({
        file: table.file,
        tensor,
        expected: `a tensor of this name (${basename(indexPath)} places it in this shard)`,
        found: "no such tensor",
      });
    }
    owner.set(tensor, table);
  }
  // Tensors a shard holds but the index forgot still load (as transformers does, shard by shard).
  for (const table of shards.values()) for (const n of table.names()) if (!owner.has(n)) owner.set(n, table);
  return {
    file: indexPath,
    names: () => [...owner.keys()],
    entry: (name): TensorEntry | undefined => owner.get(name)?.entry(name),
    read: (name) => {
      const table = owner.get(name);
      if (table === undefined) {
        throw new WeightFileError({
          file: indexPath,
          tensor: name,
          expected: "a tensor in weight_map",
          found: "none",
        });
      }
      return table.read(name);
    },
  };
};

/**
 * The weights of a Hugging Face-style folder: model.safetensors, else the sharded index, else
 * a single *.safetensors file. PyTorch pickles are refused by name.
 */
export const folderTable = (folder: string): TensorTable => {
  if (existsSync(join(folder, SINGLE))) return safetensorsTable(join(folder, SINGLE));
  if (existsSync(join(folder, INDEX))) return shardedTable(join(folder, INDEX));
  const files = readdirSync(folder);
  const st = files.filter((f) => f.endsWith(".safetensors"));
  if (st.length === 1) return safetensorsTable(join(folder, st[0]!));
  const pickle = files.find((f) => f.endsWith(".bin") || f.endsWith(".pt") || f.endsWith(".pth"));
  if (st.length === 0 && pickle !== undefined) {
    throw new UnsupportedError({
      file: join(folder, pickle),
      what: "weight format",
      expected: `${SINGLE} or ${INDEX} (safetensors)`,
      found: "a PyTorch pickle; convert it to safetensors first",
    });
  }
  throw new ModelNotFoundError({
    path: folder,
    expected:
      st.length > 1
        ? `${SINGLE} or ${INDEX} (found several .safetensors files: ${st.join(", ")})`
        : `${SINGLE} or ${INDEX} beside config.json`,
  });
};

export const HF_MODEL_TYPES = ["gpt2", "llama", "gpt_neox", "qwen2", "mistral", "gemma", "gemma2"] as const;

/**
 * Map a Hugging Face config.json plus weights. The config is parsed (and every field checked)
 * before any weight file is opened. `weights` overrides where the tensors come from.
 */
export const mapHf = (
  configPath: string,
  config: Record<string, unknown>,
  weights: () => TensorTable,
): Mapped => {
  const f = new Fields(configPath, config);
  const name = basename(dirname(configPath));
  const modelType = f.str("model_type");
  switch (modelType) {
    case "gpt2": {
      const { config: c, tied } = gpt2Config(f, name);
      return gpt2Weights(c, tied, weights());
    }
    case "llama": {
      const { config: c, tied, bias } = llamaConfig(f, name);
      return llamaWeights(c, tied, bias, weights());
    }
    case "qwen2": {
      const { config: c, tied } = qwen2Config(f, name);
      return llamaWeights(c, tied, QWEN2_BIASES, weights());
    }
    case "mistral": {
      const { config: c, tied, bias } = mistralConfig(f, name);
      return llamaWeights(c, tied, bias, weights());
    }
    case "gemma":
    case "gemma2": {
      const { config: c, tied } = gemmaConfig(f, name, modelType === "gemma2" ? 2 : 1);
      return gemmaWeights(c, tied, weights());
    }
    case "gpt_neox": {
      const { config: c, tied } = neoxConfig(f, name);
      return neoxWeights(c, tied, weights());
    }
    default:
      throw new UnsupportedError({
        file: configPath,
        what: "model_type",
        expected: HF_MODEL_TYPES.join(", "),
        found: modelType,
      });
  }
};
