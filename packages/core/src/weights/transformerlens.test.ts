import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { HostTensor } from "../tensor/host-tensor.ts";
import { hasSharedModels, sharedModelPath, warnIfNoSharedModels } from "../testing/shared.ts";
import { loadModelSync } from "./load.ts";
import { at, derivedFolder, independentSafetensors } from "./test-support.ts";

warnIfNoSharedModels("weights/transformerlens.test.ts: tl-induction-2L and tl-sorted-list");

const tl = (name: string) => sharedModelPath(name);

describe.skipIf(!hasSharedModels)("TransformerLens state dicts", () => {
  it("tl-induction-2L: attention-only, no LayerNorm, no biases", () => {
    const m = loadModelSync(tl("tl-induction-2L"));
    expect(m.format).toBe("transformerlens");
    expect(m.config).toMatchObject({
      name: "tl-induction-2L",
      family: "transformerlens",
      dModel: 48,
      nLayers: 2,
      nHeads: 4,
      nKvHeads: 4,
      dHead: 12,
      dMlp: null,
      vocabSize: 128,
      nCtx: 85,
      positional: "learned",
      rotary: null,
      norm: "none",
      parallelResidual: false,
    });
    expect(m.config.attnScale).toBeCloseTo(1 / Math.sqrt(12), 12);
    expect([...m.weights.keys()].sort()).toEqual(
      [
        "embed.W_E",
        "pos_embed.W_pos",
        "unembed.W_U",
        ...[0, 1].flatMap((l) => ["W_Q", "W_K", "W_V", "W_O"].map((w) => `blocks.${l}.attn.${w}`)),
      ].sort(),
    );
    const raw = independentSafetensors(join(tl("tl-induction-2L"), "model.safetensors"));
    const wk = raw.get("blocks.1.attn.W_K")!;
    // W_K[2, 40, 11]: [4, 48, 12] row-major
    expect(at(m.weights.get("blocks.1.attn.W_K")!, 2, 40, 11)).toBe(wk.data[(2 * 48 + 40) * 12 + 11]);
  });

  it("tl-sorted-list: LayerNorm with weights, attention biases", () => {
    const m = loadModelSync(tl("tl-sorted-list"));
    expect(m.config).toMatchObject({
      dModel: 96,
      nLayers: 1,
      nHeads: 2,
      dHead: 48,
      dMlp: null,
      vocabSize: 52,
      nCtx: 21,
      norm: "layernorm",
      normEps: 1e-5,
      positional: "learned",
    });
    const raw = independentSafetensors(join(tl("tl-sorted-list"), "model.safetensors"));
    for (const n of ["blocks.0.ln1.w", "blocks.0.ln1.b", "ln_final.b", "blocks.0.attn.W_O", "unembed.W_U"]) {
      expect(m.weights.get(n)!.data, n).toEqual(raw.get(n)!.data);
    }
    const nonZero = (n: string) => raw.get(n)!.data.some((v) => v !== 0);
    for (const b of ["b_Q", "b_K", "b_V", "b_O"]) {
      expect(m.weights.has(`blocks.0.attn.${b}`)).toBe(nonZero(`blocks.0.attn.${b}`));
    }
    expect(m.weights.has("unembed.b_U")).toBe(nonZero("unembed.b_U"));
  });

  it("drops buffers and zero biases, renames GQA _W_K/_W_V, and fills LNPre norms with w = 1, b = 0", () => {
    const dir = derivedFolder(tl("tl-sorted-list"), {
      config: (c) => ({ ...c, normalization_type: "LNPre", n_key_value_heads: 1 }),
      tensors: (t) => {
        const out = new Map<string, HostTensor>();
        for (const [k, v] of t) {
          if (k.includes("ln1") || k.includes("ln_final")) continue;
          if (/attn\.[Wb]_[KV]$/.test(k)) {
            // keep kv head 0 only: [2, ...] → [1, ...]
            const per = v.data.length / 2;
            out.set(k.replace(/\.([Wb]_[KV])$/, "._$1"), {
              data: v.data.slice(0, per),
              shape: [1, ...v.shape.slice(1)],
            });
          } else out.set(k, v);
        }
        out.set("blocks.0.attn.IGNORE", { data: new Float32Array([-1e5]), shape: [] });
        out.set("blocks.0.attn.mask", { data: new Float32Array(4), shape: [2, 2] });
        out.set("blocks.0.mlp.b_out", { data: new Float32Array(96), shape: [96] }); // zeros: dropped
        return out;
      },
    });
    const m = loadModelSync(dir);
    expect(m.config).toMatchObject({ norm: "layernorm", nKvHeads: 1, nHeads: 2 });
    expect(m.weights.get("blocks.0.attn.W_K")!.shape).toEqual([1, 96, 48]);
    expect([...m.weights.get("ln_final.w")!.data].every((v) => v === 1)).toBe(true);
    expect([...m.weights.get("blocks.0.ln1.b")!.data].every((v) => v === 0)).toBe(true);
    expect(m.weights.has("blocks.0.attn.IGNORE")).toBe(false);
  });

  it("rotary TransformerLens config: rotary_dim, rotary_base, rotary_adjacent_pairs", () => {
    const dir = derivedFolder(tl("tl-induction-2L"), {
      config: (c) => ({
        ...c,
        positional_embedding_type: "rotary",
        rotary_dim: 8,
        rotary_base: 500,
        rotary_adjacent_pairs: true,
      }),
      tensors: (t) => {
        t.delete("pos_embed.W_pos");
        return t;
      },
    });
    const m = loadModelSync(dir);
    expect(m.config).toMatchObject({
      positional: "none",
      rotary: { dim: 8, base: 500, style: "interleaved" },
    });
  });
});
