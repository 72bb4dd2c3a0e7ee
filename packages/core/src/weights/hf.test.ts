import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import type { HostTensor } from "../tensor/host-tensor.ts";
import { testdataPath } from "../testing/testdata.ts";
import { loadModel, loadModelSync } from "./load.ts";
import { readSafetensors, writeSafetensors } from "./safetensors.ts";
import { at, derivedFolder, independentSafetensors, raw2, renamed, tempDir } from "./test-support.ts";

const fixture = (name: string) => testdataPath("fixtures", name);

/** Every element of a canonical tensor equals f(index...) read from the raw file. */
const eachEqual = (t: HostTensor, f: (...idx: number[]) => number): void => {
  const bad: string[] = [];
  const idx = t.shape.map(() => 0);
  for (let flat = 0; flat < t.data.length; flat++) {
    let r = flat;
    for (let k = t.shape.length - 1; k >= 0; k--) {
      idx[k] = r % t.shape[k]!;
      r = Math.floor(r / t.shape[k]!);
    }
    if (t.data[flat] !== f(...idx)) bad.push(idx.join(","));
  }
  expect(bad.slice(0, 5)).toEqual([]);
};

const sameWeights = (a: ReadonlyMap<string, HostTensor>, b: ReadonlyMap<string, HostTensor>): void => {
  expect([...a.keys()]).toEqual([...b.keys()]);
  for (const [k, t] of a) {
    expect(b.get(k)!.shape, k).toEqual(t.shape);
    expect(Buffer.from(b.get(k)!.data.buffer).equals(Buffer.from(t.data.buffer)), k).toBe(true);
  }
};

describe("Hugging Face GPT-2 (tiny-gpt2)", () => {
  const m = loadModelSync(fixture("tiny-gpt2"));
  const raw = independentSafetensors(join(fixture("tiny-gpt2"), "model.safetensors"));
  const d = 32;
  const dh = 8;

  it("config", () => {
    expect(m.format).toBe("hf");
    expect(m.config).toMatchObject({
      name: "tiny-gpt2",
      family: "gpt2",
      dModel: 32,
      nLayers: 2,
      nHeads: 4,
      nKvHeads: 4,
      dHead: 8,
      dMlp: 128,
      gatedMlp: false,
      act: "gelu_tanh",
      vocabSize: 61,
      nCtx: 32,
      positional: "learned",
      rotary: null,
      norm: "layernorm",
      normEps: 1e-5,
      parallelResidual: false,
    });
    expect(m.config.attnScale).toBeCloseTo(1 / Math.sqrt(8), 12);
  });

  it("splits the packed c_attn [d, q|k|v] into per-head W_Q/W_K/W_V [H, d, dh]", () => {
    const qkv = raw.get("h.1.attn.c_attn.weight")!;
    ["Q", "K", "V"].forEach((x, k) => {
      const w = m.weights.get(`blocks.1.attn.W_${x}`)!;
      expect(w.shape).toEqual([4, 32, 8]);
      eachEqual(w, (h, i, j) => raw2(qkv, i!, k * d + h! * dh + j!));
    });
    // one element spelled out: W_K[2, 5, 3] = c_attn[5, d + 2·dh + 3]
    expect(at(m.weights.get("blocks.1.attn.W_K")!, 2, 5, 3)).toBe(raw2(qkv, 5, 32 + 16 + 3));
    const bias = raw.get("h.0.attn.c_attn.bias")!;
    eachEqual(m.weights.get("blocks.0.attn.b_V")!, (h, j) => raw2(bias, 2 * d + h! * dh + j!));
  });

  it("W_O is c_proj reshaped; MLP and norms copied; W_U is wte^T (tied)", () => {
    const cProj = raw.get("h.0.attn.c_proj.weight")!;
    eachEqual(m.weights.get("blocks.0.attn.W_O")!, (h, j, o) => raw2(cProj, h! * dh + j!, o!));
    eachEqual(m.weights.get("blocks.1.mlp.W_out")!, (i, o) =>
      raw2(raw.get("h.1.mlp.c_proj.weight")!, i!, o!),
    );
    eachEqual(m.weights.get("blocks.1.ln2.b")!, (i) => raw2(raw.get("h.1.ln_2.bias")!, i!));
    eachEqual(m.weights.get("pos_embed.W_pos")!, (p, i) => raw2(raw.get("wpe.weight")!, p!, i!));
    eachEqual(m.weights.get("unembed.W_U")!, (i, v) => raw2(raw.get("wte.weight")!, v!, i!));
    expect(m.weights.has("unembed.b_U")).toBe(false);
  });

  it("accepts the transformer. prefix and an explicit lm_head", () => {
    const dir = derivedFolder(fixture("tiny-gpt2"), {
      tensors: (t) => {
        const out = renamed((n) => `transformer.${n}`)(t);
        out.set("lm_head.weight", t.get("wte.weight")!);
        out.set("transformer.h.0.attn.masked_bias", { data: new Float32Array([-1e4]), shape: [] });
        return out;
      },
    });
    sameWeights(m.weights, loadModelSync(dir).weights);
  });

  it("loads through the Effect boundary and from the .safetensors path", async () => {
    const viaEffect = await Effect.runPromise(loadModel(fixture("tiny-gpt2")));
    expect(viaEffect.config).toEqual(m.config);
    const viaFile = loadModelSync(join(fixture("tiny-gpt2"), "model.safetensors"));
    sameWeights(m.weights, viaFile.weights);
    expect(viaFile.source).toBe(join(fixture("tiny-gpt2"), "model.safetensors"));
  });
});

describe("Hugging Face LLaMA (tiny-llama)", () => {
  const m = loadModelSync(fixture("tiny-llama"));
  const raw = independentSafetensors(join(fixture("tiny-llama"), "model.safetensors"));

  it("config: GQA 4 query heads over 2 key/value heads, rotary half, RMSNorm, SwiGLU", () => {
    expect(m.config).toMatchObject({
      family: "llama",
      dModel: 32,
      nLayers: 2,
      nHeads: 4,
      nKvHeads: 2,
      dHead: 8,
      dMlp: 48,
      gatedMlp: true,
      act: "silu",
      vocabSize: 67,
      nCtx: 64,
      positional: "none",
      rotary: { dim: 8, base: 10000, style: "half" },
      norm: "rmsnorm",
      normEps: 1e-5,
      parallelResidual: false,
    });
  });

  it("[out, in] projections become per-head [in, out]; SwiGLU maps gate/up/down", () => {
    const L = "model.layers.1";
    eachEqual(m.weights.get("blocks.1.attn.W_Q")!, (h, i, j) =>
      raw2(raw.get(`${L}.self_attn.q_proj.weight`)!, h! * 8 + j!, i!),
    );
    const wk = m.weights.get("blocks.1.attn.W_K")!;
    expect(wk.shape).toEqual([2, 32, 8]);
    eachEqual(wk, (h, i, j) => raw2(raw.get(`${L}.self_attn.k_proj.weight`)!, h! * 8 + j!, i!));
    eachEqual(m.weights.get("blocks.1.attn.W_O")!, (h, j, o) =>
      raw2(raw.get(`${L}.self_attn.o_proj.weight`)!, o!, h! * 8 + j!),
    );
    eachEqual(m.weights.get("blocks.1.mlp.W_gate")!, (i, k) =>
      raw2(raw.get(`${L}.mlp.gate_proj.weight`)!, k!, i!),
    );
    eachEqual(m.weights.get("blocks.1.mlp.W_in")!, (i, k) =>
      raw2(raw.get(`${L}.mlp.up_proj.weight`)!, k!, i!),
    );
    eachEqual(m.weights.get("blocks.1.mlp.W_out")!, (k, o) =>
      raw2(raw.get(`${L}.mlp.down_proj.weight`)!, o!, k!),
    );
    eachEqual(m.weights.get("ln_final.w")!, (i) => raw2(raw.get("model.norm.weight")!, i!));
  });

  it("untied head: W_U = lm_head^T, not the embedding", () => {
    eachEqual(m.weights.get("unembed.W_U")!, (i, v) => raw2(raw.get("lm_head.weight")!, v!, i!));
    expect(at(m.weights.get("unembed.W_U")!, 0, 0)).not.toBe(at(m.weights.get("embed.W_E")!, 0, 0));
    expect(m.weights.has("blocks.0.attn.b_Q")).toBe(false);
  });

  it("tie_word_embeddings and no model. prefix", () => {
    const dir = derivedFolder(fixture("tiny-llama"), {
      tensors: renamed((n) => (n === "lm_head.weight" ? null : n.replace(/^model\./, ""))),
      config: (c) => ({ ...c, tie_word_embeddings: true }),
    });
    const t = loadModelSync(dir);
    eachEqual(t.weights.get("unembed.W_U")!, (i, v) => at(m.weights.get("embed.W_E")!, v!, i!));
    expect(t.weights.get("blocks.1.attn.W_V")!.data).toEqual(m.weights.get("blocks.1.attn.W_V")!.data);
  });

  it("attention_bias: q/k/v/o biases split per head", () => {
    const dir = derivedFolder(fixture("tiny-llama"), {
      tensors: (t) => {
        for (let l = 0; l < 2; l++) {
          for (const [p, n] of [
            ["q", 32],
            ["k", 16],
            ["v", 16],
            ["o", 32],
          ] as const) {
            t.set(`model.layers.${l}.self_attn.${p}_proj.bias`, {
              data: Float32Array.from({ length: n }, (_, i) => i + 100 * l),
              shape: [n],
            });
          }
        }
        return t;
      },
      config: (c) => ({ ...c, attention_bias: true }),
    });
    const t = loadModelSync(dir);
    expect(t.weights.get("blocks.1.attn.b_K")!.shape).toEqual([2, 8]);
    expect(at(t.weights.get("blocks.1.attn.b_K")!, 1, 3)).toBe(100 + 8 + 3);
    expect(at(t.weights.get("blocks.0.attn.b_O")!, 31)).toBe(31);
  });

  it("sharded checkpoint (model.safetensors.index.json) equals the single file", () => {
    const dir = tempDir();
    const all = readSafetensors(join(fixture("tiny-llama"), "model.safetensors")).tensors;
    const names = [...all.keys()];
    const shards = [names.slice(0, 9), names.slice(9)];
    const weightMap: Record<string, string> = {};
    shards.forEach((ns, k) => {
      const file = `model-0000${k + 1}-of-00002.safetensors`;
      writeFileSync(join(dir, file), writeSafetensors(new Map(ns.map((n) => [n, all.get(n)!]))));
      for (const n of ns) weightMap[n] = file;
    });
    writeFileSync(
      join(dir, "model.safetensors.index.json"),
      JSON.stringify({ metadata: {}, weight_map: weightMap }),
    );
    writeFileSync(join(dir, "config.json"), JSON.stringify(fixtureConfig("tiny-llama")));
    sameWeights(m.weights, loadModelSync(dir).weights);
    sameWeights(m.weights, loadModelSync(join(dir, "model.safetensors.index.json")).weights);
  });
});

const fixtureConfig = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(join(fixture(name), "config.json"), "utf8")) as Record<string, unknown>;

describe("Hugging Face GPT-NeoX (tiny-neox)", () => {
  const m = loadModelSync(fixture("tiny-neox"));
  const raw = independentSafetensors(join(fixture("tiny-neox"), "model.safetensors"));

  it("config: rotary on 2 of d_head 8 (rotary_pct 0.25), parallel residual, exact GELU", () => {
    expect(m.config).toMatchObject({
      family: "neox",
      dModel: 32,
      nLayers: 2,
      nHeads: 4,
      nKvHeads: 4,
      dHead: 8,
      dMlp: 128,
      gatedMlp: false,
      act: "gelu",
      vocabSize: 71,
      nCtx: 64,
      positional: "none",
      rotary: { dim: 2, base: 10000, style: "half" },
      norm: "layernorm",
      normEps: 1e-5,
      parallelResidual: true,
    });
  });

  it("splits query_key_value per head: rows h·3·dh + (q | k | v)", () => {
    const L = "gpt_neox.layers.0.attention.query_key_value";
    const w = raw.get(`${L}.weight`)!;
    ["Q", "K", "V"].forEach((x, k) => {
      eachEqual(m.weights.get(`blocks.0.attn.W_${x}`)!, (h, i, j) => raw2(w, h! * 24 + k * 8 + j!, i!));
      eachEqual(m.weights.get(`blocks.0.attn.b_${x}`)!, (h, j) =>
        raw2(raw.get(`${L}.bias`)!, h! * 24 + k * 8 + j!),
      );
    });
    // one element spelled out: W_V[3, 7, 5] = qkv[3·24 + 16 + 5, 7]
    expect(at(m.weights.get("blocks.0.attn.W_V")!, 3, 7, 5)).toBe(raw2(w, 72 + 16 + 5, 7));
  });

  it("dense, MLP, final norm and the untied embed_out", () => {
    const L = "gpt_neox.layers.1";
    eachEqual(m.weights.get("blocks.1.attn.W_O")!, (h, j, o) =>
      raw2(raw.get(`${L}.attention.dense.weight`)!, o!, h! * 8 + j!),
    );
    eachEqual(m.weights.get("blocks.1.mlp.W_in")!, (i, k) =>
      raw2(raw.get(`${L}.mlp.dense_h_to_4h.weight`)!, k!, i!),
    );
    eachEqual(m.weights.get("blocks.1.mlp.b_out")!, (o) => raw2(raw.get(`${L}.mlp.dense_4h_to_h.bias`)!, o!));
    eachEqual(m.weights.get("ln_final.b")!, (i) => raw2(raw.get("gpt_neox.final_layer_norm.bias")!, i!));
    eachEqual(m.weights.get("unembed.W_U")!, (i, v) => raw2(raw.get("embed_out.weight")!, v!, i!));
  });
});
