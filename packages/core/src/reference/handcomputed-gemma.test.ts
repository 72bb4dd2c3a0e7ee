import { describe, expect, it } from "vitest";
import type { ModelConfig, Weights } from "../model/index.ts";
import { keyVisible } from "./attention.ts";
import { referenceForward } from "./forward.ts";

/**
 * Gemma 2's conventions on models small enough to run on paper: soft-capped scores and logits, the
 * sliding window, and a head's share of the post-attention norm. Expected values are worked out in
 * the comments and written as arithmetic, never by calling reference code.
 */
const w = (shape: number[], values: number[]) => ({ data: new Float32Array(values), shape });

const base: ModelConfig = {
  name: "hand-gemma",
  family: "zoo",
  dModel: 2,
  nLayers: 1,
  nHeads: 1,
  nKvHeads: 1,
  dHead: 2,
  dMlp: null,
  gatedMlp: false,
  act: "relu",
  vocabSize: 2,
  nCtx: 4,
  positional: "none",
  rotary: null,
  norm: "none",
  normEps: 0,
  parallelResidual: false,
  attnScale: 1,
};

describe("the sliding-window rule", () => {
  it("key k is visible from query q when k ≤ q and q − k < W, on the layers the window covers", () => {
    const all: ModelConfig = { ...base, nLayers: 2, slidingWindow: { size: 2, layers: "all" } };
    const even: ModelConfig = { ...all, slidingWindow: { size: 2, layers: "even" } };
    expect(keyVisible(all, 0, 3, 3)).toBe(true); //  q − k = 0
    expect(keyVisible(all, 0, 3, 2)).toBe(true); //  1 < 2
    expect(keyVisible(all, 0, 3, 1)).toBe(false); // 2 is not < 2
    expect(keyVisible(all, 1, 3, 1)).toBe(false); // every layer
    expect(keyVisible(all, 0, 1, 2)).toBe(false); // the future stays closed
    expect(keyVisible(even, 0, 3, 1)).toBe(false); // layer 0 slides
    expect(keyVisible(even, 1, 3, 0)).toBe(true); //  layer 1 is global
    expect(keyVisible(even, 1, 0, 1)).toBe(false); // but causal
    expect(keyVisible(base, 0, 9, 0)).toBe(true); //  no window
  });
});

describe("hand-computed Gemma 2 conventions", () => {
  it("soft-capped scores (cap 1) and logits (cap 2), a window of 2", () => {
    const c: ModelConfig = {
      ...base,
      attnSoftcap: 1,
      finalSoftcap: 2,
      slidingWindow: { size: 2, layers: "all" },
    };
    const id = w([1, 2, 2], [1, 0, 0, 1]);
    const weights: Weights = new Map([
      ["embed.W_E", w([2, 2], [1, 0, 0, 1])], // token 0 → [1, 0], token 1 → [0, 1]
      ["blocks.0.attn.W_Q", id],
      ["blocks.0.attn.W_K", id],
      ["blocks.0.attn.W_V", id],
      ["blocks.0.attn.W_O", id],
      ["unembed.W_U", w([2, 2], [1, 0, 0, 1])],
    ]);
    // ids [0, 1, 0]: x = [1, 0], [0, 1], [1, 0]; q = k = v = x; scores = tanh(q·k) (cap 1)
    // pos 0: z0 = [1, 0];  resid0 = [2, 0]
    // pos 1: keys 0, 1 (1 − 0 < 2): scores [tanh 0, tanh 1] = [0, t], t = tanh 1;
    //   a = e^0/(e^0 + e^t), b = 1 − a;  z1 = a·[1, 0] + b·[0, 1];  resid1 = [a, 1 + b]
    // pos 2: keys 1, 2 only (2 − 0 = 2 is not < 2): scores [tanh 0, tanh 1], the same a, b;
    //   z2 = a·[0, 1] + b·[1, 0];  resid2 = [1 + b, a]
    // logits = 2·tanh(resid/2)
    const t = Math.tanh(1);
    const a = 1 / (1 + Math.exp(t));
    const b = 1 - a;
    const cap = (x: number) => 2 * Math.tanh(x / 2);
    const expected = [cap(2), cap(0), cap(a), cap(1 + b), cap(1 + b), cap(a)];
    const out = referenceForward(c, weights, [[0, 1, 0]], {
      sites: ["blocks.0.attn.scores", "blocks.0.attn.pattern"],
    });
    [...out.logits.data].forEach((v, i) => {
      expect(v).toBeCloseTo(expected[i]!, 14);
    });
    const scores = out.sites.get("blocks.0.attn.scores")!.data; // [1, 1, 3, 3]
    expect(scores[1 * 3 + 1]).toBeCloseTo(t, 15); // after the cap: tanh(1), not 1
    expect(scores[2 * 3 + 0]).toBe(Number.NEGATIVE_INFINITY); // outside the window
    const pattern = out.sites.get("blocks.0.attn.pattern")!.data;
    expect(pattern[2 * 3 + 0]).toBe(0);
    expect(pattern[2 * 3 + 2]).toBeCloseTo(b, 15);
  });

  it("post-norm: each head's result is its share of ln1_post, and they sum to attn_out", () => {
    const c: ModelConfig = { ...base, nHeads: 2, nKvHeads: 2, dHead: 1, norm: "rmsnorm", postNorms: true };
    const weights: Weights = new Map([
      ["embed.W_E", w([2, 2], [1, 1, 1, 1])],
      ["blocks.0.ln1.w", w([2], [1, 1])],
      ["blocks.0.attn.W_Q", w([2, 2, 1], [1, 0, 0, 1])],
      ["blocks.0.attn.W_K", w([2, 2, 1], [1, 0, 0, 1])],
      ["blocks.0.attn.W_V", w([2, 2, 1], [1, 0, 0, 1])], // v_0 = x_0, v_1 = x_1
      ["blocks.0.attn.W_O", w([2, 1, 2], [3, 0, 0, 4])], // head 0 writes [3v, 0], head 1 [0, 4v]
      ["blocks.0.ln1_post.w", w([2], [2, 0.5])],
      ["ln_final.w", w([2], [1, 1])],
      ["unembed.W_U", w([2, 2], [1, 0, 0, 1])],
    ]);
    // one token: x = [1, 1], ln1(x) = x (mean square 1), pattern = 1, z_h = v_h = 1
    // Σ_h z_h·W_O[h] = [3, 4];  σ = √((9 + 16)/2) = √12.5
    // result_0 = [3/σ·2, 0],  result_1 = [0, 4/σ·0.5];  attn_out = [6/σ, 2/σ]
    // resid_post = [1 + 6/σ, 1 + 2/σ];  logits = resid_post / √(mean(resid_post²))
    const s = Math.sqrt(12.5);
    const r = [1 + 6 / s, 1 + 2 / s];
    const rms = Math.sqrt((r[0]! ** 2 + r[1]! ** 2) / 2);
    const out = referenceForward(c, weights, [[0]], {
      sites: [
        "blocks.0.attn.result",
        "blocks.0.attn_out",
        "blocks.0.ln1_post.scale",
        "blocks.0.ln1_post.normalized",
      ],
    });
    const get = (n: string) => [...out.sites.get(n)!.data];
    [6 / s, 0, 0, 2 / s].forEach((v, i) => {
      expect(get("blocks.0.attn.result")[i]).toBeCloseTo(v, 14);
    });
    [6 / s, 2 / s].forEach((v, i) => {
      expect(get("blocks.0.attn_out")[i]).toBeCloseTo(v, 14);
    });
    expect(get("blocks.0.ln1_post.normalized")).toEqual(get("blocks.0.attn_out"));
    expect(get("blocks.0.ln1_post.scale")[0]).toBeCloseTo(s, 14);
    [r[0]! / rms, r[1]! / rms].forEach((v, i) => {
      expect(out.logits.data[i]).toBeCloseTo(v, 14);
    });
  });
});
