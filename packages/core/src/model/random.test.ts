import { describe, expect, it } from "vitest";
import type { ModelConfig } from "./config.ts";
import { gpt2SmallConfig, mulberry32, normals, randomWeights } from "./random.ts";
import { weightSpecs } from "./weights.ts";

const small: ModelConfig = {
  name: "random-test",
  family: "zoo",
  dModel: 64,
  nLayers: 2,
  nHeads: 4,
  nKvHeads: 2,
  dHead: 16,
  dMlp: 128,
  gatedMlp: false,
  act: "gelu",
  vocabSize: 100,
  nCtx: 32,
  positional: "learned",
  rotary: null,
  norm: "layernorm",
  normEps: 1e-5,
  parallelResidual: false,
  attnScale: 0.25,
};

const meanStd = (x: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < x.length; i++) m += x[i]!;
  m /= x.length;
  let v = 0;
  for (let i = 0; i < x.length; i++) v += (x[i]! - m) ** 2;
  return { mean: m, std: Math.sqrt(v / x.length) };
};

describe("PRNG", () => {
  it("mulberry32 matches the reference implementation's first outputs", () => {
    const r = mulberry32(0);
    expect([r(), r(), r()]).toEqual([0.26642920868471265, 0.0003297457005828619, 0.2232720274478197]);
    const s = mulberry32(42);
    expect(s()).toBe(0.6011037519201636);
  });

  it("uniforms lie in [0, 1); Box–Muller normals have mean 0 and variance 1", () => {
    const r = mulberry32(7);
    for (let i = 0; i < 10_000; i++) {
      const u = r();
      expect(u >= 0 && u < 1).toBe(true);
    }
    const z = normals(3, 100_001);
    const { mean, std } = meanStd(z);
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.abs(std - 1)).toBeLessThan(0.01);
    expect(z.every(Number.isFinite)).toBe(true);
  });
});

describe("randomWeights", () => {
  it("is deterministic in the seed, and different seeds differ", () => {
    const a = randomWeights(small, 5);
    const b = randomWeights(small, 5);
    const c = randomWeights(small, 6);
    for (const [name, t] of a) {
      expect(b.get(name)!.data).toEqual(t.data);
      expect(c.get(name)!.data).not.toEqual(t.data);
    }
  });

  it("holds every canonical tensor with its shape; optional biases only with { biases: true }", () => {
    const specs = weightSpecs(small);
    const withB = randomWeights(small, 1);
    const without = randomWeights(small, 1, { biases: false });
    expect([...withB.keys()].sort()).toEqual(specs.map((s) => s.name).sort());
    expect([...without.keys()].sort()).toEqual(
      specs
        .filter((s) => s.required)
        .map((s) => s.name)
        .sort(),
    );
    for (const s of specs) {
      const t = withB.get(s.name)!;
      expect(t.shape, s.name).toEqual(s.shape);
      expect(t.data.length).toBe(s.shape.reduce((a, b) => a * b, 1));
    }
    // a tensor's values do not depend on which other tensors exist
    expect(without.get("blocks.1.attn.W_Q")!.data).toEqual(withB.get("blocks.1.attn.W_Q")!.data);
  });

  it("scales: matrices ~ 1/√fan_in, norm weights near 1, biases small", () => {
    const w = randomWeights(small, 2);
    const std = (n: string) => meanStd(w.get(n)!.data);
    expect(std("blocks.0.attn.W_Q").std).toBeCloseTo(1 / Math.sqrt(64), 2);
    // residual writes: 1/√fan_in · 1/√(2L)
    expect(std("blocks.0.mlp.W_out").std).toBeCloseTo(1 / Math.sqrt(128) / 2, 2);
    expect(std("blocks.0.attn.W_O").std).toBeCloseTo(1 / Math.sqrt(4 * 16) / 2, 2);
    expect(std("unembed.W_U").std).toBeCloseTo(1 / 8, 2);
    expect(Math.abs(std("embed.W_E").std - 1)).toBeLessThan(0.05);
    const ln = std("blocks.1.ln2.w");
    expect(Math.abs(ln.mean - 1)).toBeLessThan(0.05);
    expect(ln.std).toBeLessThan(0.2);
    expect(std("blocks.0.mlp.b_in").std).toBeLessThan(0.2);
  });
});

describe("gpt2SmallConfig", () => {
  it("has GPT-2 small's 124,439,808 parameters (tied embeddings: not counting the unembedding)", () => {
    const n = weightSpecs(gpt2SmallConfig)
      .filter((s) => !s.name.startsWith("unembed."))
      .reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0);
    expect(n).toBe(124_439_808);
  });
});
