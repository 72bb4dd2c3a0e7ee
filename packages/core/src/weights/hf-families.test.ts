import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { testdataPath } from "../testing/testdata.ts";
import { loadModelSync } from "./load.ts";
import { checkConfig } from "./validate.ts";
import { derivedFolder, expectLoadError, noise, renamed, writeFolder } from "./test-support.ts";

/**
 * config.json of the Qwen2 and Llama 3 fixtures: what loads, and every field we do not implement
 * or that is out of range as a typed error naming config.json and the field.
 */
const qwen2 = testdataPath("fixtures", "tiny-qwen2");
const llama3 = testdataPath("fixtures", "tiny-llama3");
const withConfig = (source: string, edit: (c: Record<string, unknown>) => Record<string, unknown>) =>
  derivedFolder(source, { config: edit });
const scaled = (fields: Record<string, unknown>) =>
  withConfig(llama3, (c) => ({ ...c, rope_scaling: { ...(c.rope_scaling as object), ...fields } }));

describe("Qwen2 config.json", () => {
  it("loads as family qwen2: q/k/v biases, no o bias, tied head, rope θ 1e6 rotate-half", () => {
    const { config, weights } = loadModelSync(qwen2);
    expect(config.family).toBe("qwen2");
    expect(config.rotary).toEqual({ dim: 8, base: 1e6, style: "half" });
    expect(config.normEps).toBe(1e-6);
    for (const b of ["b_Q", "b_K", "b_V"]) expect(weights.has(`blocks.0.attn.${b}`), b).toBe(true);
    expect(weights.has("blocks.0.attn.b_O")).toBe(false);
    const E = weights.get("embed.W_E")!;
    const U = weights.get("unembed.W_U")!;
    expect(U.data[3 * config.vocabSize + 5]).toBe(E.data[5 * config.dModel + 3]); // W_U = W_Eᵀ
  });

  it("Qwen2.5's sliding-window keys with use_sliding_window false load unchanged", () => {
    const dir = withConfig(qwen2, (c) => ({ ...c, sliding_window: 32768, max_window_layers: 21 }));
    expect(loadModelSync(dir).config).toEqual({
      ...loadModelSync(qwen2).config,
      name: loadModelSync(dir).config.name,
    });
  });

  it("sliding-window attention is an UnsupportedError naming the field", () => {
    const dir = withConfig(qwen2, (c) => ({ ...c, use_sliding_window: true, sliding_window: 4 }));
    expectLoadError(dir, "UnsupportedError", join(dir, "config.json"), "use_sliding_window", "true");
    const typed = withConfig(qwen2, (c) => ({ ...c, layer_types: ["full_attention", "sliding_attention"] }));
    expectLoadError(typed, "UnsupportedError", "layer_types[1]", "sliding_attention");
  });

  it("a missing q/k/v bias is a TensorShapeError naming the checkpoint's tensor", () => {
    const dir = derivedFolder(qwen2, {
      tensors: renamed((n) => (n === "model.layers.1.self_attn.v_proj.bias" ? null : n)),
    });
    expectLoadError(dir, "TensorShapeError", "model.layers.1.self_attn.v_proj.bias");
  });
});

describe("Llama 3 config.json: rope_scaling and head_dim", () => {
  it("loads with llama3 scaling, head_dim 16, d 32, 2 heads over 1 kv head", () => {
    const { config } = loadModelSync(llama3);
    expect([config.dModel, config.nHeads, config.nKvHeads, config.dHead]).toEqual([32, 2, 1, 16]);
    expect(config.rotary?.scaling).toEqual({
      kind: "llama3",
      factor: 8,
      lowFreqFactor: 1,
      highFreqFactor: 4,
      originalContext: 256,
    });
  });

  it('the legacy key "type" works; rope_type "default" (or null) is no scaling', () => {
    const legacy = withConfig(llama3, (c) => {
      const { rope_type, ...rest } = c.rope_scaling as Record<string, unknown>;
      return { ...c, rope_scaling: { type: rope_type, ...rest } };
    });
    expect(loadModelSync(legacy).config.rotary?.scaling?.kind).toBe("llama3");
    expect(loadModelSync(scaled({ rope_type: "default" })).config.rotary?.scaling).toBeUndefined();
    expect(
      loadModelSync(withConfig(llama3, (c) => ({ ...c, rope_scaling: null }))).config.rotary?.scaling,
    ).toBeUndefined();
  });

  it("other rope types are an UnsupportedError naming the field and the value", () => {
    for (const t of ["linear", "dynamic", "yarn", "longrope"]) {
      const dir = scaled({ rope_type: t });
      expectLoadError(dir, "UnsupportedError", join(dir, "config.json"), "rope_scaling.rope_type", `"${t}"`);
    }
  });

  it("bad llama3 parameters are ConfigErrors naming config.json and rope_scaling.<field>", () => {
    const cases: [Record<string, unknown>, string, string][] = [
      [{ factor: undefined }, "rope_scaling.factor", "absent"],
      [{ factor: 0 }, "rope_scaling.factor", "> 0"],
      [{ factor: -2 }, "rope_scaling.factor", "> 0"],
      [{ factor: "8" }, "rope_scaling.factor", "finite number"],
      [{ low_freq_factor: undefined }, "rope_scaling.low_freq_factor", "absent"],
      [{ high_freq_factor: 0.5 }, "rope_scaling.high_freq_factor", "> low_freq_factor = 1"],
      [{ high_freq_factor: 1 }, "rope_scaling.high_freq_factor", "> low_freq_factor = 1"],
      [{ original_max_position_embeddings: 0 }, "rope_scaling.original_max_position_embeddings", "integer"],
      [
        { original_max_position_embeddings: 25.5 },
        "rope_scaling.original_max_position_embeddings",
        "integer",
      ],
      [{ rope_type: undefined }, "rope_scaling.rope_type", "string"],
    ];
    for (const [fields, field, expected] of cases) {
      const dir = scaled(fields);
      expectLoadError(dir, "ConfigError", join(dir, "config.json"), field, expected);
    }
    const notObject = withConfig(llama3, (c) => ({ ...c, rope_scaling: 8 }));
    expectLoadError(notObject, "ConfigError", "rope_scaling", "an object");
  });

  it("head_dim ≠ hidden_size / heads (12 vs 16 / 2): q/k/v rows and o_proj columns are per head of 12", () => {
    const [d, H, K, dh, V, M] = [16, 2, 1, 12, 7, 8];
    const t = (name: string, shape: number[], seed: number) =>
      [name, { data: noise(shape[0]! * (shape[1] ?? 1), seed), shape }] as const;
    const tensors = new Map([
      t("model.embed_tokens.weight", [V, d], 1),
      t("model.layers.0.input_layernorm.weight", [d], 2),
      t("model.layers.0.self_attn.q_proj.weight", [H * dh, d], 3),
      t("model.layers.0.self_attn.k_proj.weight", [K * dh, d], 4),
      t("model.layers.0.self_attn.v_proj.weight", [K * dh, d], 5),
      t("model.layers.0.self_attn.o_proj.weight", [d, H * dh], 6),
      t("model.layers.0.post_attention_layernorm.weight", [d], 7),
      t("model.layers.0.mlp.gate_proj.weight", [M, d], 8),
      t("model.layers.0.mlp.up_proj.weight", [M, d], 9),
      t("model.layers.0.mlp.down_proj.weight", [d, M], 10),
      t("model.norm.weight", [d], 11),
    ]);
    const dir = writeFolder(
      {
        model_type: "llama",
        hidden_size: d,
        num_attention_heads: H,
        num_key_value_heads: K,
        head_dim: dh,
        num_hidden_layers: 1,
        intermediate_size: M,
        vocab_size: V,
        max_position_embeddings: 8,
        tie_word_embeddings: true,
      },
      tensors,
    );
    const { config, weights } = loadModelSync(dir);
    expect([config.dHead, config.rotary?.dim, config.attnScale]).toEqual([12, 12, 1 / Math.sqrt(12)]);
    const q = tensors.get("model.layers.0.self_attn.q_proj.weight")!.data;
    const o = tensors.get("model.layers.0.self_attn.o_proj.weight")!.data;
    const WQ = weights.get("blocks.0.attn.W_Q")!; // [H, d, dh]
    const WO = weights.get("blocks.0.attn.W_O")!; // [H, dh, d]
    expect(WQ.shape).toEqual([H, d, dh]);
    expect(WO.shape).toEqual([H, dh, d]);
    for (const [h, i, j] of [
      [0, 3, 11],
      [1, 15, 0],
      [1, 7, 5],
    ] as const) {
      expect(WQ.data[(h * d + i) * dh + j]).toBe(q[(h * dh + j) * d + i]); // W_Q[h, i, j] = q_proj[h·dh + j, i]
      expect(WO.data[(h * dh + j) * d + i]).toBe(o[i * H * dh + h * dh + j]); // W_O[h, j, i] = o_proj[i, h·dh + j]
    }
  });

  it("checkConfig, the backstop for configs from anywhere, refuses out-of-range scalings naming the canonical field", () => {
    const { config } = loadModelSync(llama3);
    const r = config.rotary!;
    const llama = (over: object) => ({ ...config, rotary: { ...r, scaling: { ...r.scaling!, ...over } } });
    for (const [over, field] of [
      [{ factor: 0 }, "rotary.scaling.factor"],
      [{ lowFreqFactor: -1 }, "rotary.scaling.lowFreqFactor"],
      [{ highFreqFactor: 1 }, "rotary.scaling.highFreqFactor"],
      [{ originalContext: 0.5 }, "rotary.scaling.originalContext"],
    ] as const)
      expect(() => checkConfig(llama(over), "x.json")).toThrow(field);
    const divisors = (d: number[]) => ({
      ...config,
      rotary: { ...r, scaling: { kind: "divisors" as const, divisors: d } },
    });
    expect(() => checkConfig(divisors([1, 2]), "x.json")).toThrow("8 positive numbers");
    expect(() => checkConfig(divisors([1, 1, 1, 1, 1, 1, 1, 0]), "x.json")).toThrow(
      "rotary.scaling.divisors",
    );
    checkConfig(divisors([1, 1, 1, 1, 2, 2, 8, 8]), "x.json");
  });

  it("transformers 5's rope_parameters (rope_theta and the scaling in one object) loads as the same config", () => {
    const v5 = (source: string) =>
      withConfig(source, (c) => {
        const { rope_theta, rope_scaling, ...rest } = c;
        return { ...rest, rope_parameters: { rope_theta, ...(rope_scaling as object | undefined) } };
      });
    for (const source of [llama3, qwen2]) {
      const dir = v5(source);
      expect(loadModelSync(dir).config).toEqual({
        ...loadModelSync(source).config,
        name: loadModelSync(dir).config.name,
      });
    }
    const params = (p: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
      withConfig(llama3, (c) => {
        const { rope_theta: _t, rope_scaling: _s, ...rest } = c;
        return { ...rest, ...extra, rope_parameters: p };
      });
    const yarn = params({ rope_theta: 1e4, rope_type: "yarn", factor: 4 });
    expectLoadError(yarn, "UnsupportedError", "rope_parameters.rope_type", '"yarn"');
    const partial = params({ rope_theta: 1e4, rope_type: "default", partial_rotary_factor: 0.5 });
    expectLoadError(partial, "UnsupportedError", "rope_parameters.partial_rotary_factor", "0.5");
    const bad = params({ rope_theta: 1e4, rope_type: "llama3", factor: 0 });
    expectLoadError(bad, "ConfigError", "rope_parameters.factor", "> 0");
    const llama3Scaling = {
      rope_type: "llama3",
      factor: 8,
      low_freq_factor: 1,
      high_freq_factor: 4,
      original_max_position_embeddings: 256,
    };
    const disagree = params({ rope_theta: 1e4, rope_type: "default" }, { rope_scaling: llama3Scaling });
    expectLoadError(disagree, "ConfigError", "field rope_scaling", "rope_parameters");
  });
});
