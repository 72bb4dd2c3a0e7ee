import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { ModelConfig, RotaryStyle } from "../model/config.ts";
import type { Weights } from "../model/weights.ts";
import type { HostTensor } from "../tensor/host-tensor.ts";
import { hasSharedModels, sharedModelPath, warnIfNoSharedModels } from "../testing/shared.ts";
import { readGgufHeader, readGgufMetadata } from "./gguf.ts";
import { loadModelSync } from "./load.ts";
import { at, syntheticGguf, syntheticLlama2c, tempDir } from "./test-support.ts";

warnIfNoSharedModels(
  "weights/llama2c-gguf.test.ts: stories260K .bin and .gguf (the synthetic files still run)",
);

const stories = (f: string) => sharedModelPath("stories260K", f);

/**
 * Naive float64 LLaMA forward from canonical weights (RMSNorm, rotary, GQA, SwiGLU), written
 * here only to decide which rotary style the checkpoint's q/k rows are in.
 */
const naiveLogits = (c: ModelConfig, w: Weights, ids: number[], style: RotaryStyle): number[][] => {
  const g = (n: string): HostTensor => w.get(n)!;
  const d = c.dModel;
  const dh = c.dHead;
  const T = ids.length;
  const rms = (x: number[], weight: HostTensor) => {
    const s = Math.sqrt(x.reduce((a, v) => a + v * v, 0) / x.length + c.normEps);
    return x.map((v, i) => (v / s) * weight.data[i]!);
  };
  const proj = (x: number[], W: HostTensor, h: number) => {
    const [, din, dout] = W.shape as [number, number, number];
    const out = new Array<number>(dout).fill(0);
    for (let i = 0; i < din; i++)
      for (let j = 0; j < dout; j++) out[j]! += x[i]! * W.data[(h * din + i) * dout + j]!;
    return out;
  };
  const mat = (x: number[], W: HostTensor) => proj(x, { data: W.data, shape: [1, ...W.shape] }, 0);
  const rope = (v: number[], p: number) => {
    const r = c.rotary!.dim;
    const out = [...v];
    for (let i = 0; i < r / 2; i++) {
      const a = p * c.rotary!.base ** ((-2 * i) / r);
      const [i0, i1] = style === "interleaved" ? [2 * i, 2 * i + 1] : [i, i + r / 2];
      out[i0] = v[i0]! * Math.cos(a) - v[i1]! * Math.sin(a);
      out[i1] = v[i0]! * Math.sin(a) + v[i1]! * Math.cos(a);
    }
    return out;
  };
  let x = ids.map((id) => Array.from(g("embed.W_E").data.subarray(id * d, (id + 1) * d)));
  for (let l = 0; l < c.nLayers; l++) {
    const b = `blocks.${l}`;
    const hn = x.map((r) => rms(r, g(`${b}.ln1.w`)));
    const G = c.nHeads / c.nKvHeads;
    const attn = x.map(() => new Array<number>(d).fill(0));
    for (let h = 0; h < c.nHeads; h++) {
      const kv = Math.floor(h / G);
      const q = hn.map((r, p) => rope(proj(r, g(`${b}.attn.W_Q`), h), p));
      const k = hn.map((r, p) => rope(proj(r, g(`${b}.attn.W_K`), kv), p));
      const v = hn.map((r) => proj(r, g(`${b}.attn.W_V`), kv));
      for (let p = 0; p < T; p++) {
        const s = k
          .slice(0, p + 1)
          .map((kk) => kk.reduce((a, kv2, j) => a + kv2 * q[p]![j]!, 0) * c.attnScale);
        const mx = Math.max(...s);
        const e = s.map((v2) => Math.exp(v2 - mx));
        const z = new Array<number>(dh).fill(0);
        const total = e.reduce((a, b2) => a + b2, 0);
        for (let t = 0; t <= p; t++) for (let j = 0; j < dh; j++) z[j]! += (e[t]! / total) * v[t]![j]!;
        const o = proj(z, g(`${b}.attn.W_O`), h);
        for (let i = 0; i < d; i++) attn[p]![i]! += o[i]!;
      }
    }
    x = x.map((r, p) => r.map((v2, i) => v2 + attn[p]![i]!));
    x = x.map((r) => {
      const h2 = rms(r, g(`${b}.ln2.w`));
      const gate = mat(h2, g(`${b}.mlp.W_gate`));
      const up = mat(h2, g(`${b}.mlp.W_in`));
      const post = gate.map((a, k) => (a / (1 + Math.exp(-a))) * up[k]!);
      const out = mat(post, g(`${b}.mlp.W_out`));
      return r.map((v2, i) => v2 + out[i]!);
    });
  }
  return x.map((r) => mat(rms(r, g("ln_final.w")), g("unembed.W_U")));
};

describe.skipIf(!hasSharedModels)("stories260K: llama2.c .bin and GGUF", () => {
  const bin = hasSharedModels ? loadModelSync(stories("stories260K.bin")) : null!;
  const gguf = hasSharedModels ? loadModelSync(stories("stories260K.gguf")) : null!;

  it("llama2.c config", () => {
    expect(bin.format).toBe("llama2c");
    expect(bin.config).toEqual({
      name: "stories260K",
      family: "llama2c",
      dModel: 64,
      nLayers: 5,
      nHeads: 8,
      nKvHeads: 4,
      dHead: 8,
      dMlp: 172,
      gatedMlp: true,
      act: "silu",
      vocabSize: 512,
      nCtx: 512,
      positional: "none",
      rotary: { dim: 8, base: 10000, style: "interleaved" },
      norm: "rmsnorm",
      normEps: 1e-5,
      parallelResidual: false,
      attnScale: 1 / Math.sqrt(8),
    });
  });

  it("GGUF config equals it except family, nCtx (llama.context_length says 2048) and eps stored as f32", () => {
    expect(gguf.format).toBe("gguf");
    expect(gguf.config).toEqual({
      ...bin.config,
      family: "llama",
      nCtx: 2048,
      normEps: Math.fround(1e-5),
    });
  });

  it("canonical weights are bitwise identical (GGUF q/k rows are not permuted)", () => {
    expect([...gguf.weights.keys()]).toEqual([...bin.weights.keys()]);
    for (const [k, t] of bin.weights) {
      const u = gguf.weights.get(k)!;
      expect(u.shape, k).toEqual(t.shape);
      expect(Buffer.from(u.data.buffer).equals(Buffer.from(t.data.buffer)), k).toBe(true);
    }
  });

  it("W_Q[h, i, j] = wq[l][h·dh + j][i], read straight from the .bin bytes", () => {
    const buf = readFileSync(stories("stories260K.bin"));
    const [V, d, L] = [512, 64, 5];
    const wq = (l: number, row: number, col: number) =>
      buf.readFloatLE(28 + 4 * (V * d + L * d + l * d * d + row * d + col));
    const W = bin.weights.get("blocks.3.attn.W_Q")!;
    for (const [h, i, j] of [
      [0, 0, 0],
      [7, 63, 7],
      [5, 17, 2],
    ] as const) {
      expect(at(W, h, i, j)).toBe(wq(3, h * 8 + j, i));
    }
    // shared classifier: W_U = W_E^T
    expect(at(bin.weights.get("unembed.W_U")!, 5, 300)).toBe(at(bin.weights.get("embed.W_E")!, 300, 5));
  });

  it("only the interleaved rotary style reproduces the reference logits", () => {
    const ref = JSON.parse(readFileSync(stories("expected_logits.json"), "utf8")) as {
      input_ids: number[][];
      logits: number[][][];
    };
    const ids = ref.input_ids[0]!.slice(0, 12);
    const worst = (style: RotaryStyle) => {
      const got = naiveLogits(bin.config, bin.weights, ids, style);
      let m = 0;
      for (let p = 0; p < got.length; p++) {
        for (let k = 0; k < got[p]!.length; k++)
          m = Math.max(m, Math.abs(got[p]![k]! - ref.logits[0]![p]![k]!));
      }
      return m;
    };
    expect(worst("interleaved")).toBeLessThan(1e-4);
    expect(worst("half")).toBeGreaterThan(1e-1);
  });

  it("readGgufMetadata exposes the vocabulary and hyperparameters", () => {
    const meta = readGgufMetadata(stories("stories260K.gguf"));
    const tokens = meta["tokenizer.ggml.tokens"] as string[];
    expect(tokens).toHaveLength(512);
    expect(tokens.slice(0, 4)).toEqual(["<unk>", "<s>", "</s>", "<0x00>"]);
    expect(meta["tokenizer.ggml.scores"]).toHaveLength(512);
    expect(meta["tokenizer.ggml.model"]).toBe("llama");
    expect(meta["tokenizer.ggml.bos_token_id"]).toBe(1);
    expect(meta["llama.context_length"]).toBe(2048);
    const header = readGgufHeader(stories("stories260K.gguf"));
    expect(header.version).toBe(3);
    const k = header.tensors.find((t) => t.name === "blk.0.attn_k.weight")!;
    expect(k.ne).toEqual([64, 32]); // innermost first
    expect(k.shape).toEqual([32, 64]); // row-major [out, in]
    expect(k.typeName).toBe("F32");
    expect((k.offset - header.dataStart) % header.alignment).toBe(0);
  });
});

// ---- synthetic files (no ../shared needed) ----

describe("llama2.c synthetic checkpoints", () => {
  it("negative vocab_size: separate classifier after the RoPE tables", () => {
    const { bytes, parts } = syntheticLlama2c(false);
    const path = join(tempDir(), "unshared.bin");
    writeFileSync(path, bytes);
    const m = loadModelSync(path);
    expect(m.config).toMatchObject({ name: "unshared", vocabSize: 5, nKvHeads: 1, dMlp: 12, nCtx: 4 });
    const wcls = parts.get("wcls")!;
    const wu = m.weights.get("unembed.W_U")!;
    expect(wu.shape).toEqual([8, 5]);
    for (let v = 0; v < 5; v++) for (let i = 0; i < 8; i++) expect(at(wu, i, v)).toBe(wcls[v * 8 + i]);
    // w2 is down: W_out[k, o] = w2[l][o][k]; w3 is up: W_in[i, k] = w3[l][k][i]
    const w2 = parts.get("w2")!;
    const w3 = parts.get("w3")!;
    expect(at(m.weights.get("blocks.1.mlp.W_out")!, 11, 3)).toBe(w2[8 * 12 + 3 * 12 + 11]);
    expect(at(m.weights.get("blocks.1.mlp.W_in")!, 3, 11)).toBe(w3[12 * 8 + 11 * 8 + 3]);
  });

  it("positive vocab_size: W_U is the embedding transposed", () => {
    const { bytes, parts } = syntheticLlama2c(true);
    const path = join(tempDir(), "shared.bin");
    writeFileSync(path, bytes);
    const m = loadModelSync(path);
    expect(at(m.weights.get("unembed.W_U")!, 2, 4)).toBe(parts.get("emb")![4 * 8 + 2]);
  });
});

describe("GGUF synthetic files", () => {
  it("tied output (no output.weight), F16 embedding, same layers as the llama2.c file", () => {
    const { bytes, parts } = syntheticLlama2c(true);
    const dir = tempDir();
    writeFileSync(join(dir, "s.bin"), bytes);
    writeFileSync(join(dir, "s.gguf"), syntheticGguf(parts));
    const a = loadModelSync(join(dir, "s.bin"));
    const b = loadModelSync(join(dir, "s.gguf"));
    expect(b.config).toMatchObject({ vocabSize: 5, nCtx: 4, rotary: { dim: 4, style: "interleaved" } });
    for (const k of a.weights.keys()) {
      if (k === "embed.W_E" || k === "unembed.W_U") continue;
      expect(b.weights.get(k)!.data, k).toEqual(a.weights.get(k)!.data);
    }
    const emb = b.weights.get("embed.W_E")!;
    expect(at(emb, 3, 5)).toBe(Math.round(parts.get("emb")![3 * 8 + 5]! * 64) / 8);
    expect(at(b.weights.get("unembed.W_U")!, 5, 3)).toBe(at(emb, 3, 5));
  });
});
