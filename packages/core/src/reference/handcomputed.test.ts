import { describe, expect, it } from "vitest";
import type { ModelConfig, Weights } from "../model/index.ts";
import { referenceForward } from "./forward.ts";

/**
 * Two 1-layer models small enough to run on paper. The expected logits below are worked out by
 * hand in the comments and written as arithmetic, never by calling reference code.
 */
const w = (shape: number[], values: number[]) => ({ data: new Float32Array(values), shape });

const base: ModelConfig = {
  name: "hand",
  family: "zoo",
  dModel: 2,
  nLayers: 1,
  nHeads: 1,
  nKvHeads: 1,
  dHead: 2,
  dMlp: null,
  gatedMlp: false,
  act: "relu",
  vocabSize: 3,
  nCtx: 4,
  positional: "none",
  rotary: null,
  norm: "none",
  normEps: 0,
  parallelResidual: false,
  attnScale: 1 / Math.SQRT2,
};

describe("hand-computed logits", () => {
  it("attention only, no norm: a value-swapping head", () => {
    const c = base;
    const weights: Weights = new Map([
      ["embed.W_E", w([3, 2], [1, 0, 0, 1, 1, 1])], // tokens → [1,0], [0,1], [1,1]
      ["blocks.0.attn.W_Q", w([1, 2, 2], [1, 0, 0, 1])], // identity
      ["blocks.0.attn.W_K", w([1, 2, 2], [1, 0, 0, 1])], // identity
      ["blocks.0.attn.W_V", w([1, 2, 2], [0, 1, 1, 0])], // swap the two coordinates
      ["blocks.0.attn.W_O", w([1, 2, 2], [1, 0, 0, 1])], // identity
      ["unembed.W_U", w([2, 3], [1, 0, 1, 0, 1, 1])], // logits = [x0, x1, x0 + x1]
      ["unembed.b_U", w([3], [0, 0, 0.5])],
    ]);
    // ids [0, 2]: x0 = [1, 0], x1 = [1, 1]
    // position 0 attends only to itself: z0 = v0 = swap([1, 0]) = [0, 1];
    //   resid_post0 = [1, 1];  logits0 = [1, 1, 2 + 0.5]
    // position 1: q1 = [1, 1]; scores = [q1·k0, q1·k1]/√2 = [1/√2, 2/√2];
    //   p1 = softmax(...)[1] = σ(2/√2 − 1/√2) = σ(1/√2);  v = [[0, 1], [1, 1]]
    //   z1 = (1 − p1)·[0, 1] + p1·[1, 1] = [p1, 1];  resid_post1 = [1 + p1, 2]
    //   logits1 = [1 + p1, 2, 3 + p1 + 0.5]
    const p1 = 1 / (1 + Math.exp(-1 / Math.SQRT2));
    const expected = [1, 1, 2.5, 1 + p1, 2, 3.5 + p1];
    const out = referenceForward(c, weights, [[0, 2]], { sites: ["blocks.0.attn.pattern"] });
    expect(out.logits.shape).toEqual([1, 2, 3]);
    [...out.logits.data].forEach((v, i) => {
      expect(v).toBeCloseTo(expected[i]!, 14);
    });
    const pattern = out.sites.get("blocks.0.attn.pattern")!;
    expect(pattern.data[0]).toBe(1);
    expect(pattern.data[1]).toBe(0);
    expect(pattern.data[2]).toBeCloseTo(1 - p1, 15);
    expect(pattern.data[3]).toBeCloseTo(p1, 15);
  });

  it("RMSNorm, rotary (one pair turning by θ = position), a half-blind output head", () => {
    const c: ModelConfig = {
      ...base,
      vocabSize: 2,
      norm: "rmsnorm",
      rotary: { dim: 2, base: 10000, style: "half" },
      attnScale: 1,
    };
    const ones = w([2], [1, 1]);
    const weights: Weights = new Map([
      ["embed.W_E", w([2, 2], [3, 3, -2, -2])], // token 0 → [3, 3], token 1 → [−2, −2]
      ["blocks.0.ln1.w", ones],
      ["blocks.0.attn.W_Q", w([1, 2, 2], [1, 0, 0, 1])],
      ["blocks.0.attn.W_K", w([1, 2, 2], [1, 0, 0, 1])],
      ["blocks.0.attn.W_V", w([1, 2, 2], [1, 0, 0, 1])],
      ["blocks.0.attn.W_O", w([1, 2, 2], [1, 0, 0, 0])], // keeps only coordinate 0
      ["ln_final.w", ones],
      ["unembed.W_U", w([2, 2], [1, 0, 0, 2])], // logits = [x0, 2·x1]
    ]);
    // RMS([3, 3]) = [1, 1], RMS([−2, −2]) = [−1, −1] (eps 0). W_Q = W_K = W_V = I.
    // position 0: q0 = k0 = v0 = [1, 1], no rotation at p = 0; z0 = [1, 1];
    //   attn_out0 = [1, 0];  resid_post0 = [4, 3];  RMS = [4, 3]/√((16 + 9)/2)
    const r0 = Math.sqrt(25 / 2);
    // position 1: q1 = k1 = v1 = [−1, −1], rotated by θ = 1:
    //   rot_q1 = rot_k1 = −[cos 1 − sin 1, sin 1 + cos 1]
    //   scores = [rot_q1·k0, rot_q1·rot_k1] = [−2 cos 1, 2]
    //   p0 = e^{−2cos1} / (e^{−2cos1} + e²);  z1 = p0·[1, 1] + (1 − p0)·[−1, −1] = (2p0 − 1)·[1, 1]
    //   attn_out1 = [2p0 − 1, 0];  resid_post1 = [−2 + 2p0 − 1, −2]
    const p0 = Math.exp(-2 * Math.cos(1)) / (Math.exp(-2 * Math.cos(1)) + Math.exp(2));
    const x1 = [2 * p0 - 3, -2];
    const r1 = Math.sqrt((x1[0]! ** 2 + x1[1]! ** 2) / 2);
    const expected = [4 / r0, (2 * 3) / r0, x1[0]! / r1, (2 * x1[1]!) / r1];
    const out = referenceForward(c, weights, [[0, 1]], { sites: ["blocks.0.attn.scores", "ln_final.scale"] });
    [...out.logits.data].forEach((v, i) => {
      expect(v).toBeCloseTo(expected[i]!, 14);
    });
    const scores = out.sites.get("blocks.0.attn.scores")!.data;
    expect(scores[1]).toBe(Number.NEGATIVE_INFINITY);
    expect(scores[2]).toBeCloseTo(-2 * Math.cos(1), 14);
    expect(scores[3]).toBeCloseTo(2, 14);
    const scale = out.sites.get("ln_final.scale")!;
    expect(scale.shape).toEqual([1, 2, 1]);
    expect(scale.data[0]).toBeCloseTo(r0, 14);
  });

  it("LayerNorm, a ReLU MLP and learned positions at a single position", () => {
    const c: ModelConfig = {
      ...base,
      dMlp: 1,
      norm: "layernorm",
      positional: "learned",
      attnScale: 1,
      vocabSize: 2,
    };
    const ones = w([2], [1, 1]);
    const zeros = w([2], [0, 0]);
    const weights: Weights = new Map([
      ["embed.W_E", w([2, 2], [1, 0, 0, 5])],
      ["pos_embed.W_pos", w([4, 2], [2, 0, 9, 9, 9, 9, 9, 9])],
      ["blocks.0.ln1.w", ones],
      ["blocks.0.ln1.b", zeros],
      ["blocks.0.attn.W_Q", w([1, 2, 2], [0, 0, 0, 0])],
      ["blocks.0.attn.W_K", w([1, 2, 2], [0, 0, 0, 0])],
      ["blocks.0.attn.W_V", w([1, 2, 2], [1, 0, 0, 1])],
      ["blocks.0.attn.b_V", w([1, 2], [0, 1])],
      ["blocks.0.attn.W_O", w([1, 2, 2], [2, 0, 0, 1])],
      ["blocks.0.attn.b_O", w([2], [0.5, 0])],
      ["blocks.0.ln2.w", w([2], [2, 1])],
      ["blocks.0.ln2.b", w([2], [0, 1])],
      ["blocks.0.mlp.W_in", w([2, 1], [1, 1])],
      ["blocks.0.mlp.b_in", w([1], [-0.5])],
      ["blocks.0.mlp.W_out", w([1, 2], [1, -1])],
      ["blocks.0.mlp.b_out", w([2], [0, 0.25])],
      ["ln_final.w", ones],
      ["ln_final.b", w([2], [0, 3])],
      ["unembed.W_U", w([2, 2], [1, 0, 0, 1])],
    ]);
    // token 0 at position 0: resid_pre = [1, 0] + [2, 0] = [3, 0]
    // ln1: mean 1.5, var 2.25, scale 1.5 → [1, −1]; v = [1, −1] + [0, 1] = [1, 0]; pattern = [1]
    // attn_out = [1, 0]·diag(2, 1) + [0.5, 0] = [2.5, 0];  resid_mid = [5.5, 0]
    // ln2: mean 2.75, scale 2.75 → [1, −1]·[2, 1] + [0, 1] = [2, 0]
    // pre = 2 + 0 − 0.5 = 1.5; post = 1.5; mlp_out = [1.5, −1.5] + [0, 0.25] = [1.5, −1.25]
    // resid_post = [7, −1.25]; ln_final → [1, −1] + [0, 3] = [1, 2]; logits = [1, 2]
    const out = referenceForward(c, weights, [[0]], { sites: "all" });
    [...out.logits.data].forEach((v, i) => {
      expect(v).toBeCloseTo([1, 2][i]!, 14);
    });
    const site = (n: string) => [...out.sites.get(n)!.data];
    expect(site("blocks.0.resid_pre")).toEqual([3, 0]);
    expect(site("blocks.0.ln1.scale")[0]).toBeCloseTo(1.5, 12);
    expect(site("blocks.0.attn_out")).toEqual([2.5, 0]);
    expect(site("blocks.0.mlp.pre")[0]).toBeCloseTo(1.5, 12);
    expect(site("blocks.0.resid_post")[0]).toBeCloseTo(7, 12);
    expect(site("blocks.0.resid_post")[1]).toBeCloseTo(-1.25, 12);
  });
});
