import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { randomWeights } from "../model/random.ts";
import { numel } from "../tensor/host-tensor.ts";
import { hasSharedModels, sharedModelPath, warnIfNoSharedModels } from "../testing/shared.ts";
import { firstNonFinite, showValue } from "./finite.ts";
import { readGgufHeader } from "./gguf.ts";
import { loadModelSync } from "./load.ts";
import { writeSafetensors } from "./safetensors.ts";
import {
  derivedFolder,
  SYNTH,
  syntheticGguf,
  syntheticGpt2,
  syntheticLlama2c,
  tempDir,
  writeFolder,
} from "./test-support.ts";
import { validateWeights } from "./validate.ts";

/**
 * Weights are finite or the load fails: every loader reads through its table, which checks each
 * tensor as it is decoded. The error names the file, the tensor (as the file names it) and the
 * first bad value with its flat index and multi-index in the file's own layout.
 */

warnIfNoSharedModels("weights/finite.test.ts: a NaN in tl-induction-2L (the TransformerLens names)");

interface Failure {
  readonly _tag: string;
  readonly file: string;
  readonly tensor?: string;
  readonly expected: string;
  readonly found: string;
  readonly message: string;
}

const failure = (f: () => unknown): Failure => {
  try {
    f();
  } catch (e) {
    return e as Failure;
  }
  throw new Error("expected the load to fail");
};

const BAD = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];

/** Row-major multi-index, written out independently of finite.ts's unravel. */
const multiIndex = (flat: number, shape: readonly number[]): number[] => {
  const strides = shape.map((_, k) => shape.slice(k + 1).reduce((a, b) => a * b, 1));
  return strides.map((s, k) => Math.floor(flat / s) % shape[k]!);
};

const expectReported = (
  e: Failure,
  file: string,
  tensor: string,
  flat: number,
  shape: readonly number[],
  bad: number,
): void => {
  expect(e._tag, e.message).toBe("WeightFileError");
  expect(e.file).toBe(file);
  expect(e.tensor).toBe(tensor);
  expect(e.expected).toBe("finite values");
  expect(e.found).toBe(
    `${showValue(bad)} at flat index ${flat} (index [${multiIndex(flat, shape).join(", ")}] of shape [${shape.join(", ")}])`,
  );
  expect(e.message).toContain(file);
  expect(e.message).toContain(`tensor ${tensor}`);
};

describe("firstNonFinite", () => {
  it("finds the first NaN or ±Inf, or −1", () => {
    fc.assert(
      fc.property(fc.array(fc.float({ noNaN: true, noDefaultInfinity: true })), (xs) => {
        const a = Float32Array.from(xs);
        expect(firstNonFinite(a)).toBe(-1);
        if (a.length === 0) return;
        for (const bad of BAD) {
          const j = Math.floor(a.length / 2);
          const b = Float32Array.from(a);
          b[j] = bad;
          b[a.length - 1] = Number.NaN;
          expect(firstNonFinite(b)).toBe(j);
          expect(firstNonFinite(b, j + 1)).toBe(j + 1 === a.length ? -1 : a.length - 1);
        }
      }),
    );
  });
});

describe("firstNonFinite across its 4096-element blocks", () => {
  it("finds the first bad value anywhere in a long array, within [from, to)", () => {
    const n = 20_000;
    const base = Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 1e30);
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: n - 1 }), { minLength: 1, maxLength: 4 }),
        fc.constantFrom(...BAD),
        fc.integer({ min: 0, max: n }),
        fc.integer({ min: 0, max: n }),
        (at, bad, x, y) => {
          const a = Float32Array.from(base);
          for (const i of at) a[i] = bad;
          const [from, to] = x <= y ? [x, y] : [y, x];
          const inside = at.filter((i) => i >= from && i < to);
          expect(firstNonFinite(a, from, to)).toBe(inside.length === 0 ? -1 : Math.min(...inside));
          expect(firstNonFinite(Float64Array.from(a))).toBe(Math.min(...at));
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("NaN/Inf weights: WeightFileError naming file, tensor and the first bad index", () => {
  it("Hugging Face safetensors: a bad value at a random index of a random tensor is reported exactly", () => {
    const { config, tensors } = syntheticGpt2(2);
    const names = [...tensors.keys()];
    fc.assert(
      fc.property(
        fc.constantFrom(...names),
        fc.nat(),
        fc.nat(),
        fc.constantFrom(...BAD),
        (name, k, later, bad) => {
          const t = tensors.get(name)!;
          const i = k % t.data.length;
          const data = Float32Array.from(t.data);
          data[i] = bad;
          // a second bad value after i: the first one is the one named
          if (i + 1 < t.data.length) data[i + 1 + (later % (t.data.length - i - 1))] = Number.NaN;
          const dir = writeFolder(config, new Map(tensors).set(name, { data, shape: t.shape }));
          expectReported(
            failure(() => loadModelSync(dir)),
            join(dir, "model.safetensors"),
            name,
            i,
            t.shape,
            bad,
          );
        },
      ),
      { numRuns: 40 },
    );
  });

  it("a sharded checkpoint names the shard holding the bad tensor", () => {
    const { config, tensors } = syntheticGpt2(2);
    const names = [...tensors.keys()];
    const dir = tempDir();
    const shards = [names.slice(0, 9), names.slice(9)];
    const map: Record<string, string> = {};
    const bad = "h.1.mlp.c_fc.weight";
    const t = tensors.get(bad)!;
    const data = Float32Array.from(t.data);
    data[37] = Number.POSITIVE_INFINITY;
    shards.forEach((ns, s) => {
      const file = `model-0000${s + 1}-of-00002.safetensors`;
      const part = new Map(ns.map((n) => [n, n === bad ? { data, shape: t.shape } : tensors.get(n)!]));
      writeFileSync(join(dir, file), writeSafetensors(part));
      for (const n of ns) map[n] = file;
    });
    expect(map[bad]).toBe("model-00002-of-00002.safetensors");
    writeFileSync(join(dir, "config.json"), JSON.stringify(config));
    writeFileSync(join(dir, "model.safetensors.index.json"), JSON.stringify({ weight_map: map }));
    expectReported(
      failure(() => loadModelSync(dir)),
      join(dir, "model-00002-of-00002.safetensors"),
      bad,
      37,
      t.shape,
      Number.POSITIVE_INFINITY,
    );
  });

  it("llama2.c: a bad value in a stacked array is named by layer (wq.{l}) and index within it", () => {
    const perLayer = (name: string): [string, number] | null => {
      const { dim, hidden, heads, kv, layers } = SYNTH;
      const hs = dim / heads;
      const sizes: Record<string, [string, number]> = {
        rms_att: ["rms_att_weight", dim],
        wq: ["wq", heads * hs * dim],
        wk: ["wk", kv * hs * dim],
        wv: ["wv", kv * hs * dim],
        wo: ["wo", dim * heads * hs],
        rms_ffn: ["rms_ffn_weight", dim],
        w1: ["w1", hidden * dim],
        w2: ["w2", dim * hidden],
        w3: ["w3", hidden * dim],
      };
      expect(layers).toBe(2);
      return sizes[name] ?? null;
    };
    const whole: Record<string, string> = {
      emb: "token_embedding_table",
      rms_final: "rms_final_weight",
      wcls: "wcls",
    };
    const { dim, hidden, heads, kv, vocab } = SYNTH;
    const hs = dim / heads;
    const shapeOf: Record<string, number[]> = {
      token_embedding_table: [vocab, dim],
      rms_final_weight: [dim],
      wcls: [vocab, dim],
      rms_att_weight: [dim],
      wq: [heads * hs, dim],
      wk: [kv * hs, dim],
      wv: [kv * hs, dim],
      wo: [dim, heads * hs],
      rms_ffn_weight: [dim],
      w1: [hidden, dim],
      w2: [dim, hidden],
      w3: [hidden, dim],
    };
    const { bytes, parts } = syntheticLlama2c(false);
    const read = [...parts.keys()].filter((n) => !n.startsWith("freq_"));
    fc.assert(
      fc.property(fc.constantFrom(...read), fc.nat(), fc.constantFrom(...BAD), (part, k, bad) => {
        const arr = parts.get(part)!;
        const i = k % arr.length;
        let before = 0;
        for (const [n, p] of parts) {
          if (n === part) break;
          before += p.length;
        }
        const b = Uint8Array.from(bytes);
        new DataView(b.buffer).setFloat32(28 + 4 * (before + i), bad, true);
        const file = join(tempDir(), "model.bin");
        writeFileSync(file, b);
        const split = perLayer(part);
        const [tensor, flat] =
          split === null ? [whole[part]!, i] : [`${split[0]}.${Math.floor(i / split[1])}`, i % split[1]];
        expectReported(
          failure(() => loadModelSync(file)),
          file,
          tensor,
          flat,
          shapeOf[split === null ? whole[part]! : split[0]]!,
          bad,
        );
      }),
      { numRuns: 30 },
    );
  });

  it("llama2.c: NaN in the legacy RoPE tables (never read) still loads", () => {
    const { bytes, parts } = syntheticLlama2c(true);
    let before = 0;
    for (const [n, p] of parts) {
      if (n === "freq_real") break;
      before += p.length;
    }
    const b = Uint8Array.from(bytes);
    new DataView(b.buffer).setFloat32(28 + 4 * before, Number.NaN, true);
    const file = join(tempDir(), "model.bin");
    writeFileSync(file, b);
    expect(loadModelSync(file).config.dModel).toBe(SYNTH.dim);
  });

  it("GGUF (F32 and F16 tensors): a bad value at a random index of a random tensor is reported exactly", () => {
    const { parts } = syntheticLlama2c(true);
    const base = syntheticGguf(parts);
    const probe = join(tempDir(), "probe.gguf");
    writeFileSync(probe, base);
    const infos = readGgufHeader(probe).tensors;
    const f16 = { nan: 0x7e00, inf: 0x7c00, ninf: 0xfc00 };
    fc.assert(
      fc.property(fc.constantFrom(...infos), fc.nat(), fc.constantFrom(...BAD), (info, k, bad) => {
        const n = numel(info.shape);
        const i = k % n;
        const b = Uint8Array.from(base);
        const dv = new DataView(b.buffer);
        if (info.typeName === "F32") dv.setFloat32(info.offset + 4 * i, bad, true);
        else {
          expect(info.typeName).toBe("F16");
          const bits = Number.isNaN(bad) ? f16.nan : bad > 0 ? f16.inf : f16.ninf;
          dv.setUint16(info.offset + 2 * i, bits, true);
        }
        const file = join(tempDir(), "model.gguf");
        writeFileSync(file, b);
        expectReported(
          failure(() => loadModelSync(file)),
          file,
          info.name,
          i,
          info.shape,
          bad,
        );
      }),
      { numRuns: 30 },
    );
  });

  it.skipIf(!hasSharedModels)("TransformerLens: a NaN in tl-induction-2L names the state-dict tensor", () => {
    const dir = derivedFolder(sharedModelPath("tl-induction-2L"), {
      tensors: (t) => {
        const w = t.get("blocks.1.attn.W_K")!;
        const data = Float32Array.from(w.data);
        data[1000] = Number.NaN;
        return new Map(t).set("blocks.1.attn.W_K", { data, shape: w.shape });
      },
    });
    const shape = loadModelSync(sharedModelPath("tl-induction-2L")).weights.get("blocks.1.attn.W_K")!.shape;
    expectReported(
      failure(() => loadModelSync(dir)),
      join(dir, "model.safetensors"),
      "blocks.1.attn.W_K",
      1000,
      shape,
      Number.NaN,
    );
  });

  it("in-memory weights (builders, training): validateWeights names the canonical tensor", () => {
    const { config } = loadModelSync(writeFolder(syntheticGpt2().config, syntheticGpt2().tensors));
    const w = randomWeights(config, 3);
    const t = w.get("blocks.0.mlp.W_in")!;
    const data = Float32Array.from(t.data);
    data[5] = Number.NEGATIVE_INFINITY;
    const e = failure(() =>
      validateWeights(config, new Map(w).set("blocks.0.mlp.W_in", { data, shape: t.shape }), "trained"),
    );
    expectReported(e, "trained", "blocks.0.mlp.W_in", 5, t.shape, Number.NEGATIVE_INFINITY);
  });

  it("the unpatched files load (the check does not reject finite weights)", () => {
    const { config, tensors } = syntheticGpt2(2);
    expect(loadModelSync(writeFolder(config, tensors)).config.nLayers).toBe(2);
    const dir = tempDir();
    mkdirSync(join(dir, "m"));
    const { bytes } = syntheticLlama2c(false);
    writeFileSync(join(dir, "m", "model.bin"), bytes);
    expect(loadModelSync(join(dir, "m", "model.bin")).config.nLayers).toBe(SYNTH.layers);
  });
});
