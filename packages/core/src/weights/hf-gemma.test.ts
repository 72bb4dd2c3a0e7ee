import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { testdataPath } from "../testing/testdata.ts";
import { loadModelSync } from "./load.ts";
import { gemma1Folder } from "./test-gemma.ts";
import { derivedFolder, expectLoadError, independentSafetensors, renamed } from "./test-support.ts";

/**
 * The Gemma, Gemma 2 and Mistral config readers and weight mappers, checked against the raw file
 * values (an independent safetensors reader). The forwards are checked in
 * runtime/hf-families.test.ts.
 */
const gemma2Dir = testdataPath("fixtures", "tiny-gemma2");
const llamaDir = testdataPath("fixtures", "tiny-llama");

describe("Hugging Face Gemma 2 (tiny-gemma2)", () => {
  const m = loadModelSync(gemma2Dir);
  const raw = independentSafetensors(join(gemma2Dir, "model.safetensors"));
  const c = m.config;

  it("reads every convention into the config", () => {
    expect(c.family).toBe("gemma2");
    expect([c.dModel, c.nHeads, c.nKvHeads, c.dHead, c.nLayers, c.dMlp]).toEqual([32, 4, 2, 12, 3, 64]);
    expect(c.act).toBe("gelu_tanh");
    expect(c.gatedMlp).toBe(true);
    expect(c.attnScale).toBe(1 / Math.sqrt(12)); // query_pre_attn_scalar 12
    expect(c.postNorms).toBe(true);
    expect(c.attnSoftcap).toBe(5);
    expect(c.finalSoftcap).toBe(3);
    expect(c.slidingWindow).toEqual({ size: 4, layers: "even" });
  });

  it("folds (1 + w) into every norm and √d into the embedding; the tied W_U stays Eᵀ", () => {
    const E = raw.get("model.embed_tokens.weight")!;
    const s = Math.fround(Math.sqrt(32));
    const WE = m.weights.get("embed.W_E")!.data;
    const WU = m.weights.get("unembed.W_U")!.data; // [d, V]
    for (const i of [0, 5, 31, 32 * 82 + 31]) expect(WE[i]).toBe(Math.fround(s * E.data[i]!));
    expect(WU[3 * 83 + 7]).toBe(E.data[7 * 32 + 3]); // W_U[3, 7] = E[7, 3]
    for (const [canonical, hf] of [
      ["blocks.0.ln1.w", "model.layers.0.input_layernorm.weight"],
      ["blocks.0.ln1_post.w", "model.layers.0.post_attention_layernorm.weight"],
      ["blocks.1.ln2.w", "model.layers.1.pre_feedforward_layernorm.weight"],
      ["blocks.2.ln2_post.w", "model.layers.2.post_feedforward_layernorm.weight"],
      ["ln_final.w", "model.norm.weight"],
    ] as const) {
      const w = raw.get(hf)!.data;
      const got = m.weights.get(canonical)!.data;
      expect([...got], canonical).toEqual(Array.from(w, (x) => Math.fround(1 + x)));
    }
  });

  it("defaults: absent caps take Gemma2Config's 50 / 30, explicit nulls turn them off", () => {
    const absent = loadModelSync(
      derivedFolder(gemma2Dir, {
        config: ({ attn_logit_softcapping: _a, final_logit_softcapping: _f, ...rest }) => rest,
      }),
    ).config;
    expect([absent.attnSoftcap, absent.finalSoftcap]).toEqual([50, 30]);
    const off = loadModelSync(
      derivedFolder(gemma2Dir, {
        config: (c) => ({ ...c, attn_logit_softcapping: null, final_logit_softcapping: null }),
      }),
    ).config;
    expect([off.attnSoftcap, off.finalSoftcap]).toEqual([null, null]);
  });

  it("layer_types saying sliding on even layers is accepted; any other pattern is an UnsupportedError", () => {
    const ok = derivedFolder(gemma2Dir, {
      config: (c) => ({ ...c, layer_types: ["sliding_attention", "full_attention", "sliding_attention"] }),
    });
    expect(loadModelSync(ok).config.slidingWindow).toEqual({ size: 4, layers: "even" });
    const bad = derivedFolder(gemma2Dir, {
      config: (c) => ({ ...c, layer_types: ["full_attention", "sliding_attention", "full_attention"] }),
    });
    expectLoadError(bad, "UnsupportedError", `${bad}/config.json`, "layer_types", "full_attention");
  });

  it("what changes the forward and is not implemented is an UnsupportedError naming file and field", () => {
    for (const [field, value] of [
      ["attention_bias", true],
      ["rope_scaling", { rope_type: "linear", factor: 2 }],
      ["hidden_activation", "gelu_quick"],
    ] as const) {
      const dir = derivedFolder(gemma2Dir, { config: (c) => ({ ...c, [field]: value }) });
      expectLoadError(dir, "UnsupportedError", `${dir}/config.json`, field);
    }
  });

  it("keys that do not change the forward are ignored", () => {
    const dir = derivedFolder(gemma2Dir, {
      config: (c) => ({ ...c, cache_implementation: "hybrid", attention_dropout: 0, use_cache: true }),
    });
    expect(loadModelSync(dir).config).toEqual({ ...c, name: loadModelSync(dir).config.name });
  });

  it("a missing post-norm tensor names it", () => {
    const dir = derivedFolder(gemma2Dir, {
      tensors: renamed((n) => (n === "model.layers.1.post_feedforward_layernorm.weight" ? null : n)),
    });
    expectLoadError(dir, "TensorShapeError", "model.layers.1.post_feedforward_layernorm.weight");
  });
});

describe("Hugging Face Gemma (1), derived from tiny-gemma2's weights", () => {
  it("tanh GELU whatever hidden_act says, unless hidden_activation names one; no Gemma 2 knobs", () => {
    const c = loadModelSync(gemma1Folder()).config;
    expect(c.family).toBe("gemma");
    expect(c.act).toBe("gelu_tanh");
    expect(c.attnScale).toBe(1 / Math.sqrt(12)); // 1/√head_dim
    expect(c.postNorms ?? false).toBe(false);
    expect(c.attnSoftcap ?? null).toBeNull();
    expect(c.finalSoftcap ?? null).toBeNull();
    expect(c.slidingWindow ?? null).toBeNull();
    const exact = loadModelSync(gemma1Folder((x) => ({ ...x, hidden_activation: "gelu" }))).config;
    expect(exact.act).toBe("gelu");
  });

  it("ln2 is post_attention_layernorm, folded as 1 + w", () => {
    const dir = gemma1Folder();
    const raw = independentSafetensors(join(dir, "model.safetensors"));
    const m = loadModelSync(dir);
    const w = raw.get("model.layers.2.post_attention_layernorm.weight")!.data;
    expect([...m.weights.get("blocks.2.ln2.w")!.data]).toEqual(Array.from(w, (x) => Math.fround(1 + x)));
  });
});

describe("Hugging Face Mistral, derived from tiny-llama's weights", () => {
  const mistral = (window: unknown) =>
    derivedFolder(llamaDir, { config: (c) => ({ ...c, model_type: "mistral", sliding_window: window }) });

  it("sliding_window on every layer; null is global attention; the weights are LLaMA's", () => {
    const m = loadModelSync(mistral(3));
    const llama = loadModelSync(llamaDir);
    expect(m.config).toEqual({
      ...llama.config,
      name: m.config.name,
      family: "mistral",
      slidingWindow: { size: 3, layers: "all" },
    });
    for (const [k, v] of llama.weights) expect(m.weights.get(k)!.data, k).toEqual(v.data);
    expect(loadModelSync(mistral(null)).config.slidingWindow ?? null).toBeNull();
  });

  it("a window that is not a positive integer is a ConfigError naming the field", () => {
    const dir = mistral(0);
    expectLoadError(dir, "ConfigError", `${dir}/config.json`, "sliding_window", "0");
  });
});
