import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Effect, Exit } from "effect";
import { describe, expect, it } from "vitest";
import type { HostTensor } from "../tensor/host-tensor.ts";
import { loadModel, loadModelSync } from "./load.ts";
import { writeSafetensors } from "./safetensors.ts";
import { validateWeights } from "./validate.ts";
import { expectLoadError, patchHeader, syntheticGpt2, tempDir, writeFolder } from "./test-support.ts";

/**
 * Bad input of every kind, in folders (Hugging Face, TransformerLens) and paths: each load must
 * fail with the right typed error whose message names the file and the tensor or field, and says
 * what was expected and what was found. The single-file formats are in errors-single-file.test.ts.
 */
const gpt2 = () => syntheticGpt2();
const st = (dir: string) => join(dir, "model.safetensors");
const cfg = (dir: string) => join(dir, "config.json");

describe("Hugging Face folders: bad input", () => {
  it("the synthetic folder itself loads", () => {
    const { config, tensors } = gpt2();
    expect(loadModelSync(writeFolder(config, tensors)).config.dModel).toBe(8);
  });

  it("truncated model.safetensors → WeightFileError naming the file and the first tensor past the end", () => {
    const { config, tensors } = gpt2();
    const bytes = writeSafetensors(tensors);
    const dir = writeFolder(config, bytes.subarray(0, bytes.length - 100));
    expectLoadError(dir, "WeightFileError", st(dir), "tensor ", "data_offsets end ≤", "expected", "found");
  });

  it("header length past the end of the file → WeightFileError", () => {
    const { config, tensors } = gpt2();
    const bytes = writeSafetensors(tensors);
    new DataView(bytes.buffer).setUint32(0, bytes.length, true);
    const dir = writeFolder(config, bytes);
    expectLoadError(dir, "WeightFileError", st(dir), `header length ${bytes.length}`);
  });

  it("data_offsets past the end → WeightFileError naming the tensor", () => {
    const { config, tensors } = gpt2();
    const bytes = patchHeader(writeSafetensors(tensors), (h) => {
      (h["ln_f.bias"] as unknown as { data_offsets: number[] }).data_offsets = [1e6, 1e6 + 32];
    });
    const dir = writeFolder(config, bytes);
    expectLoadError(dir, "WeightFileError", st(dir), "tensor ln_f.bias", "data_offsets");
  });

  it("a missing tensor → TensorShapeError naming the file and the file's tensor name", () => {
    const { config, tensors } = gpt2();
    tensors.delete("h.0.attn.c_proj.weight");
    const dir = writeFolder(config, tensors);
    expectLoadError(
      dir,
      "TensorShapeError",
      st(dir),
      "tensor h.0.attn.c_proj.weight",
      "[8, 8]",
      "no such tensor",
    );
  });

  it("a shape disagreeing with config.json → TensorShapeError with expected vs found", () => {
    const { config, tensors } = gpt2();
    const dir = writeFolder({ ...config, vocab_size: 12 }, tensors);
    expectLoadError(
      dir,
      "TensorShapeError",
      st(dir),
      "tensor wte.weight",
      "expected shape [12, 8]",
      "found [11, 8]",
    );
  });

  it("more layers in the file than config.json says → TensorShapeError naming a leftover tensor", () => {
    const { config, tensors } = syntheticGpt2(2);
    const dir = writeFolder({ ...config, n_layer: 1 }, tensors);
    expectLoadError(dir, "TensorShapeError", st(dir), "tensor h.1.", "no such tensor for this config");
  });

  it("an unsupported dtype (I64) → UnsupportedError naming the tensor and dtype", () => {
    const { config, tensors } = gpt2();
    const bytes = patchHeader(writeSafetensors(tensors), (h) => {
      h["wte.weight"]!.dtype = "I64";
      h["wte.weight"]!.shape = [11, 4]; // same byte length
    });
    const dir = writeFolder(config, bytes);
    expectLoadError(dir, "UnsupportedError", st(dir), "tensor wte.weight", "F32, F16, BF16", "found I64");
  });

  it("an unsupported architecture → UnsupportedError naming config.json and model_type", () => {
    const { config, tensors } = gpt2();
    const dir = writeFolder({ ...config, model_type: "bert" }, tensors);
    expectLoadError(
      dir,
      "UnsupportedError",
      cfg(dir),
      "model_type",
      "gpt2, llama, gpt_neox, qwen2",
      "found bert",
    );
  });

  it("an unsupported activation → UnsupportedError naming the field", () => {
    const { config, tensors } = gpt2();
    const dir = writeFolder({ ...config, activation_function: "swishy" }, tensors);
    expectLoadError(dir, "UnsupportedError", cfg(dir), "activation_function", "found swishy");
  });

  it("a missing config field → ConfigError naming config.json and the field", () => {
    const { config, tensors } = gpt2();
    const { n_head: _, ...rest } = config;
    const dir = writeFolder(rest, tensors);
    expectLoadError(dir, "ConfigError", cfg(dir), "field n_head", "an integer ≥ 1", "absent");
  });

  it("invalid config fields → ConfigError with expected vs found", () => {
    const { config, tensors } = gpt2();
    expectLoadError(
      writeFolder({ ...config, n_layer: "two" }, tensors),
      "ConfigError",
      "field n_layer",
      '"two"',
    );
    expectLoadError(
      writeFolder({ ...config, n_head: 3 }, tensors),
      "ConfigError",
      "field n_head",
      "divisor of n_embd = 8",
    );
    expectLoadError(
      writeFolder({ ...config, layer_norm_epsilon: -1 }, tensors),
      "ConfigError",
      "layer_norm_epsilon",
    );
    expectLoadError(writeFolder("{not json", tensors), "ConfigError", "config.json", "valid JSON");
  });

  it("a llama config with rope scaling, or bad GQA grouping → typed errors", () => {
    const base = {
      model_type: "llama",
      hidden_size: 8,
      num_attention_heads: 4,
      num_key_value_heads: 3,
      num_hidden_layers: 1,
      intermediate_size: 4,
      vocab_size: 5,
      max_position_embeddings: 4,
    };
    const t = new Map<string, HostTensor>();
    expectLoadError(
      writeFolder(base, t),
      "ConfigError",
      "num_key_value_heads",
      "divisor of num_attention_heads = 4",
    );
    expectLoadError(
      writeFolder({ ...base, num_key_value_heads: 2, rope_scaling: { type: "linear", factor: 2 } }, t),
      "UnsupportedError",
      "rope_scaling.type",
      '"linear"',
    );
    expectLoadError(
      writeFolder({ ...base, num_key_value_heads: 2 }, t),
      "TensorShapeError",
      "embed_tokens.weight",
    );
  });

  it("neither Hugging Face nor TransformerLens → ConfigError", () => {
    const { tensors } = gpt2();
    expectLoadError(writeFolder({ hello: 1 }, tensors), "ConfigError", "model_type", "neither");
  });

  it("sharded: a missing shard, a tensor absent from its shard, a bad weight_map", () => {
    const { config, tensors } = gpt2();
    const names = [...tensors.keys()];
    const make = (map: unknown) => {
      const dir = tempDir();
      writeFileSync(cfg(dir), JSON.stringify(config));
      writeFileSync(
        join(dir, "a.safetensors"),
        writeSafetensors(new Map(names.slice(0, 5).map((n) => [n, tensors.get(n)!]))),
      );
      writeFileSync(
        join(dir, "b.safetensors"),
        writeSafetensors(new Map(names.slice(5).map((n) => [n, tensors.get(n)!]))),
      );
      writeFileSync(join(dir, "model.safetensors.index.json"), JSON.stringify({ weight_map: map }));
      return dir;
    };
    const good = Object.fromEntries(names.map((n, i) => [n, i < 5 ? "a.safetensors" : "b.safetensors"]));
    expect(loadModelSync(make(good)).config.nLayers).toBe(1);
    const missing = make({ ...good, "wte.weight": "c.safetensors" });
    expectLoadError(missing, "WeightFileError", join(missing, "c.safetensors"), "readable");
    const wrong = make({ ...good, "ln_f.bias": "a.safetensors" });
    expectLoadError(
      wrong,
      "TensorShapeError",
      join(wrong, "a.safetensors"),
      "tensor ln_f.bias",
      "places it in this shard",
    );
    expectLoadError(make([1, 2]), "ConfigError", "model.safetensors.index.json", "weight_map");
    expectLoadError(
      make({ ...good, "wte.weight": "../x.safetensors" }),
      "ConfigError",
      "weight_map.wte.weight",
    );
  });

  it("PyTorch pickles only → UnsupportedError; .safetensors without config.json → ModelNotFoundError", () => {
    const dir = tempDir();
    writeFileSync(cfg(dir), JSON.stringify(gpt2().config));
    writeFileSync(join(dir, "pytorch_model.bin"), "pickle");
    expectLoadError(dir, "UnsupportedError", "pytorch_model.bin", "safetensors");
    const lone = tempDir();
    writeFileSync(join(lone, "w.safetensors"), writeSafetensors(gpt2().tensors));
    expectLoadError(join(lone, "w.safetensors"), "ModelNotFoundError", "config.json beside");
  });
});

describe("TransformerLens folders: bad input", () => {
  const tlConfig = {
    n_layers: 1,
    d_model: 4,
    n_heads: 2,
    d_head: 2,
    d_vocab: 3,
    n_ctx: 5,
    attn_only: true,
    normalization_type: null,
    positional_embedding_type: "standard",
    act_fn: "relu",
  };
  const tlTensors = () => {
    const t = new Map<string, HostTensor>();
    const z = (shape: number[]) => ({
      data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(0.5),
      shape,
    });
    t.set("embed.W_E", z([3, 4]));
    t.set("pos_embed.W_pos", z([5, 4]));
    for (const w of ["W_Q", "W_K", "W_V"]) t.set(`blocks.0.attn.${w}`, z([2, 4, 2]));
    t.set("blocks.0.attn.W_O", z([2, 2, 4]));
    t.set("unembed.W_U", z([4, 3]));
    return t;
  };

  it("the synthetic folder loads", () => {
    expect(loadModelSync(writeFolder(tlConfig, tlTensors())).config.family).toBe("transformerlens");
  });

  it("missing d_vocab → ConfigError naming it", () => {
    const { d_vocab: _, ...rest } = tlConfig;
    const dir = writeFolder(rest, tlTensors());
    expectLoadError(dir, "ConfigError", cfg(dir), "field d_vocab");
  });

  it("a wrong W_Q shape → TensorShapeError with expected vs found", () => {
    const t = tlTensors();
    t.set("blocks.0.attn.W_Q", { data: new Float32Array(16), shape: [2, 4, 2, 1] });
    const dir = writeFolder(tlConfig, t);
    expectLoadError(
      dir,
      "TensorShapeError",
      st(dir),
      "blocks.0.attn.W_Q",
      "expected shape [2, 4, 2]",
      "found [2, 4, 2, 1]",
    );
  });

  it("a tensor the config does not allow (ln1.w with normalization_type null)", () => {
    const t = tlTensors();
    t.set("blocks.0.ln1.w", { data: new Float32Array(4), shape: [4] });
    const dir = writeFolder(tlConfig, t);
    expectLoadError(dir, "TensorShapeError", st(dir), "blocks.0.ln1.w", "no such tensor for this config");
  });

  it("a missing required tensor → TensorShapeError naming it", () => {
    const t = tlTensors();
    t.delete("embed.W_E");
    const dir = writeFolder(tlConfig, t);
    expectLoadError(dir, "TensorShapeError", st(dir), "embed.W_E", "[3, 4]", "no such tensor");
  });

  it("unsupported positional embedding / normalization → UnsupportedError naming the field", () => {
    expectLoadError(
      writeFolder({ ...tlConfig, positional_embedding_type: "shortformer" }, tlTensors()),
      "UnsupportedError",
      "positional_embedding_type",
      "shortformer",
    );
    expectLoadError(
      writeFolder({ ...tlConfig, normalization_type: "Batch" }, tlTensors()),
      "UnsupportedError",
      "normalization_type",
    );
    expectLoadError(
      writeFolder({ ...tlConfig, attention_dir: "bidirectional" }, tlTensors()),
      "UnsupportedError",
      "attention_dir",
    );
  });
});

describe("paths", () => {
  it("a missing path → ModelNotFoundError, also through the Effect boundary", async () => {
    expectLoadError("/nonexistent/model", "ModelNotFoundError", "/nonexistent/model");
    const exit = await Effect.runPromiseExit(loadModel("/nonexistent/model"));
    expect(Exit.isFailure(exit)).toBe(true);
    if (Exit.isFailure(exit) && exit.cause._tag === "Fail")
      expect(exit.cause.error._tag).toBe("ModelNotFoundError");
    else throw new Error("expected a typed failure");
  });

  it("an unknown file type → UnsupportedError; an empty folder → ModelNotFoundError", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "m.pt"), "x");
    expectLoadError(join(dir, "m.pt"), "UnsupportedError", "model file type", ".pt");
    expectLoadError(tempDir(), "ModelNotFoundError", "no config.json");
  });
});

describe("validateWeights (weights from anywhere)", () => {
  it("accepts loaded weights and rejects a wrong shape naming the label", () => {
    const { config, tensors } = syntheticGpt2();
    const m = loadModelSync(writeFolder(config, tensors));
    expect(validateWeights(m.config, m.weights).size).toBe(m.weights.size);
    const bad = new Map(m.weights);
    bad.set("unembed.W_U", { data: new Float32Array(8 * 10), shape: [8, 10] });
    expect(() => validateWeights(m.config, bad, "trained.safetensors")).toThrow(
      /trained\.safetensors: tensor unembed\.W_U: expected shape \[8, 11\]/,
    );
  });
});
