import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InputError } from "../errors/index.ts";
import { type ModelConfig, randomWeights } from "../model/index.ts";
import { siteCatalog, siteShape } from "../model/sites.ts";
import { arbConfig, arbIds } from "./arbitraries.ts";
import { referenceForward } from "./forward.ts";
import { all, arbCase, axisIndex, get, maxDiff } from "./test-support.ts";

/**
 * Properties of the reference forward over random small models of every family shape. Each one
 * can fail: they tie sites to each other and to the weights by identities the spec implies.
 */

const RUNS = { numRuns: 40 };

describe("the reference produces the site catalogue", () => {
  it("every catalogue site, with the catalogue's shape, and logits = the logits site", () => {
    fc.assert(
      fc.property(arbCase(), ({ c, seed, ids }) => {
        const out = all(c, randomWeights(c, seed), ids);
        const cat = siteCatalog(c);
        expect([...out.sites.keys()]).toEqual(cat.map((s) => s.name));
        for (const s of cat)
          expect(get(out.sites, s.name).shape, s.name).toEqual(siteShape(s, c, ids.length, ids[0]!.length));
        expect(get(out.sites, "logits").data).toEqual(out.logits.data);
        for (const [name, t] of out.sites) {
          const finite = name.endsWith("attn.scores")
            ? t.data.filter((v) => v !== Number.NEGATIVE_INFINITY)
            : t.data;
          expect(finite.every(Number.isFinite), name).toBe(true);
        }
      }),
      RUNS,
    );
  });

  it("TransformerLens spellings give the same values, under the names asked, in the order asked", () => {
    fc.assert(
      fc.property(arbCase(), ({ c, seed, ids }) => {
        const w = randomWeights(c, seed);
        const cat = siteCatalog(c).reverse();
        const byTl = referenceForward(c, w, ids, { sites: cat.map((s) => s.tl) });
        const byName = all(c, w, ids);
        expect([...byTl.sites.keys()]).toEqual(cat.map((s) => s.tl));
        for (const s of cat) expect(get(byTl.sites, s.tl).data).toEqual(get(byName.sites, s.name).data);
      }),
      { numRuns: 10 },
    );
  });

  it("sequences in a batch do not see each other", () => {
    fc.assert(
      fc.property(arbCase(), ({ c, seed, ids }) => {
        const w = randomWeights(c, seed);
        const batch = all(c, w, [...ids, ids[0]!.map((t) => (t + 1) % c.vocabSize)]);
        const alone = all(c, w, [ids[0]!]);
        for (const [name, t] of alone.sites) {
          const size = t.data.length;
          expect(maxDiff(get(batch.sites, name).data.subarray(0, size), t.data), name).toBe(0);
        }
      }),
      { numRuns: 20 },
    );
  });
});

describe("causality", () => {
  it("changing the token at position t leaves every site at positions < t unchanged (exactly)", () => {
    fc.assert(
      fc.property(
        arbConfig().chain((c) =>
          fc.record({
            c: fc.constant(c),
            seed: fc.nat(1 << 20),
            ids: arbIds(c, { maxBatch: 1, minLength: 2 }),
            where: fc.nat(),
            shift: fc.integer({ min: 1, max: c.vocabSize - 1 }),
          }),
        ),
        ({ c, seed, ids, where, shift }) => {
          const w = randomWeights(c, seed);
          const P = ids[0]!.length;
          const t = 1 + (where % (P - 1));
          const changed = ids.map((s) => s.map((tok, p) => (p === t ? (tok + shift) % c.vocabSize : tok)));
          const a = all(c, w, ids);
          const b = all(c, w, changed);
          let sawChange = false;
          for (const s of siteCatalog(c)) {
            const x = get(a.sites, s.name);
            const y = get(b.sites, s.name);
            const posAxis = s.dims.indexOf("pos");
            for (let i = 0; i < x.data.length; i++) {
              if (axisIndex(x.shape, posAxis, i) < t)
                expect(Object.is(x.data[i], y.data[i]), `${s.name}[${i}]`).toBe(true);
              else if (x.data[i] !== y.data[i]) sawChange = true;
            }
          }
          expect(sawChange).toBe(true); // the change reached position t (W_E rows differ)
        },
      ),
      RUNS,
    );
  });
});

describe("attention identities", () => {
  it("pattern rows sum to 1, are exactly 0 above the diagonal and outside a window, where scores are −∞", () => {
    fc.assert(
      fc.property(arbCase(), ({ c, seed, ids }) => {
        const out = all(c, randomWeights(c, seed), ids);
        const P = ids[0]!.length;
        for (let l = 0; l < c.nLayers; l++) {
          const pat = get(out.sites, `blocks.${l}.attn.pattern`).data;
          const sc = get(out.sites, `blocks.${l}.attn.scores`).data;
          const win = c.slidingWindow;
          const slides = win != null && (win.layers === "all" || l % 2 === 0);
          for (let row = 0; row < pat.length / P; row++) {
            const i = row % P;
            let sum = 0;
            for (let j = 0; j < P; j++) {
              sum += pat[row * P + j]!;
              if (j > i || (slides && i - j >= win!.size)) {
                expect(pat[row * P + j]).toBe(0);
                expect(sc[row * P + j]).toBe(Number.NEGATIVE_INFINITY);
              } else expect(Number.isFinite(sc[row * P + j])).toBe(true);
            }
            expect(Math.abs(sum - 1)).toBeLessThan(1e-12);
          }
          // soft-capped scores stay inside [−cap, cap]: cap·tanh(x/cap) rounds to ±cap exactly
          // once tanh(x/cap) rounds to ±1 in float64 (|x/cap| ≳ 19), so the bound is closed.
          if (c.attnSoftcap != null)
            for (const x of sc)
              if (x !== Number.NEGATIVE_INFINITY) expect(Math.abs(x)).toBeLessThanOrEqual(c.attnSoftcap);
        }
      }),
      RUNS,
    );
  });

  it("attn_out = Σ_h result_h + b_O, and result_h = z_h·W_O[h] (post-norms: / σ ⊙ w_post, no b_O)", () => {
    fc.assert(
      fc.property(arbCase(), fc.boolean(), ({ c, seed, ids }, biases) => {
        const w = randomWeights(c, seed, { biases });
        const out = all(c, w, ids);
        const R = ids.length * ids[0]!.length;
        const { dModel: d, nHeads: H, dHead: e } = c;
        for (let l = 0; l < c.nLayers; l++) {
          const result = get(out.sites, `blocks.${l}.attn.result`).data;
          const z = get(out.sites, `blocks.${l}.attn.z`).data;
          const attnOut = get(out.sites, `blocks.${l}.attn_out`).data;
          const W_O = w.get(`blocks.${l}.attn.W_O`)!.data;
          const b_O = w.get(`blocks.${l}.attn.b_O`)?.data;
          expect(b_O === undefined).toBe(!biases || c.postNorms === true);
          // post-norms: each head's share of ln1_post, σ the layer's own scale
          const post = c.postNorms === true;
          const sigma = post ? get(out.sites, `blocks.${l}.ln1_post.scale`).data : null;
          const wPost = post ? w.get(`blocks.${l}.ln1_post.w`)!.data : null;
          for (let r = 0; r < R; r++)
            for (let o = 0; o < d; o++) {
              let total = b_O?.[o] ?? 0;
              for (let h = 0; h < H; h++) {
                total += result[(r * H + h) * d + o]!;
                let zw = 0;
                for (let t = 0; t < e; t++) zw += z[(r * H + h) * e + t]! * W_O[(h * e + t) * d + o]!;
                if (post) zw = (zw / sigma![r]!) * wPost![o]!;
                expect(Math.abs(zw - result[(r * H + h) * d + o]!)).toBeLessThan(1e-12);
              }
              expect(Math.abs(total - attnOut[r * d + o]!)).toBeLessThan(1e-12);
            }
        }
      }),
      RUNS,
    );
  });

  it("the residual stream adds up: resid_mid, mlp_in, resid_post, and the next block's resid_pre", () => {
    fc.assert(
      fc.property(arbCase(), ({ c, seed, ids }) => {
        const out = all(c, randomWeights(c, seed), ids);
        const s = (n: string) => get(out.sites, n).data;
        const sum = (...xs: Float64Array[]) => xs[0]!.map((_, i) => xs.reduce((a, x) => a + x[i]!, 0));
        const embed = s("embed");
        expect(
          maxDiff(s("blocks.0.resid_pre"), c.positional === "learned" ? sum(embed, s("pos_embed")) : embed),
        ).toBe(0);
        for (let l = 0; l < c.nLayers; l++) {
          const b = (n: string) => s(`blocks.${l}.${n}`);
          const writes = [b("resid_pre"), b("attn_out"), ...(c.dMlp === null ? [] : [b("mlp_out")])];
          expect(maxDiff(b("resid_post"), sum(...writes))).toBeLessThan(1e-12);
          if (!c.parallelResidual)
            expect(maxDiff(b("resid_mid"), sum(b("resid_pre"), b("attn_out")))).toBe(0);
          if (c.dMlp !== null)
            expect(b("mlp_in")).toEqual(c.parallelResidual ? b("resid_pre") : b("resid_mid"));
          for (const qkv of ["q", "k", "v"]) {
            const x = b(`attn.${qkv}_input`);
            const n = qkv === "q" ? c.nHeads : c.nKvHeads;
            for (let i = 0; i < x.length; i++)
              expect(x[i]).toBe(b("resid_pre")[Math.floor(i / (n * c.dModel)) * c.dModel + (i % c.dModel)]);
          }
          if (l + 1 < c.nLayers) expect(s(`blocks.${l + 1}.resid_pre`)).toEqual(b("resid_post"));
        }
      }),
      RUNS,
    );
  });

  it("with one position, pattern = 1, z is the head's v and rotary is the identity", () => {
    fc.assert(
      fc.property(arbCase(), ({ c, seed, ids }) => {
        const one = ids.map((s) => s.slice(0, 1));
        const out = all(c, randomWeights(c, seed), one);
        const { nHeads: H, nKvHeads: K, dHead: e } = c;
        for (let l = 0; l < c.nLayers; l++) {
          const b = (n: string) => get(out.sites, `blocks.${l}.${n}`).data;
          expect(b("attn.pattern").every((p) => p === 1)).toBe(true);
          for (let r = 0; r < one.length; r++)
            for (let h = 0; h < H; h++)
              for (let t = 0; t < e; t++)
                expect(b("attn.z")[(r * H + h) * e + t]).toBe(
                  b("attn.v")[(r * K + Math.floor(h / (H / K))) * e + t],
                );
          if (c.rotary !== null) expect(b("attn.rot_q")).toEqual(b("attn.q"));
        }
      }),
      { numRuns: 20 },
    );
  });
});

describe("norms", () => {
  it("LayerNorm: (normalized − b)/w has mean 0 and scale² = var + eps; RMSNorm: scale² = mean(x²) + eps", () => {
    fc.assert(
      fc.property(
        arbConfig(),
        fc.constantFrom<"layernorm" | "rmsnorm">("layernorm", "rmsnorm"),
        fc.nat(1 << 20),
        (c0, norm, seed) => {
          const c: ModelConfig = { ...c0, norm };
          const w = randomWeights(c, seed);
          const ids = [[0, 1, 2, 3].map((t) => t % c.vocabSize)];
          const out = all(c, w, ids);
          const d = c.dModel;
          const sites = [["blocks.0.resid_pre", "blocks.0.ln1", "blocks.0.ln1"]];
          sites.push([`blocks.${c.nLayers - 1}.resid_post`, "ln_final", "ln_final"]);
          for (const [input, site, param] of sites) {
            const x = get(out.sites, input!).data;
            const y = get(out.sites, `${site}.normalized`).data;
            const scale = get(out.sites, `${site}.scale`).data;
            const gain = w.get(`${param}.w`)!.data;
            const bias = w.get(`${param}.b`)?.data;
            for (let r = 0; r < x.length / d; r++) {
              const row = Array.from(x.subarray(r * d, (r + 1) * d));
              const unit = row.map((_, i) => (y[r * d + i]! - (bias?.[i] ?? 0)) / gain[i]!);
              const mean = row.reduce((a, v) => a + v, 0) / d;
              if (norm === "layernorm") {
                const variance = row.reduce((a, v) => a + (v - mean) ** 2, 0) / d;
                expect(Math.abs(scale[r]! ** 2 - (variance + c.normEps))).toBeLessThan(1e-9 * (1 + variance));
                expect(Math.abs(unit.reduce((a, v) => a + v, 0) / d)).toBeLessThan(1e-9);
              } else {
                const meanSquare = row.reduce((a, v) => a + v * v, 0) / d;
                expect(Math.abs(scale[r]! ** 2 - (meanSquare + c.normEps))).toBeLessThan(
                  1e-9 * (1 + meanSquare),
                );
                // x / scale reconstructs x
                for (const [i, u] of unit.entries())
                  expect(Math.abs(u * scale[r]! - row[i]!)).toBeLessThan(1e-9 * (1 + Math.abs(row[i]!)));
              }
            }
          }
        },
      ),
      RUNS,
    );
  });

  it("LayerNorm with w = 1: the output has mean b̄ and variance var/(var + eps)", () => {
    fc.assert(
      fc.property(arbCase({ norm: "layernorm" }), ({ c, seed, ids }) => {
        const w = new Map(randomWeights(c, seed));
        w.set("ln_final.w", { data: new Float32Array(c.dModel).fill(1), shape: [c.dModel] });
        const out = all(c, w, ids);
        const y = get(out.sites, "ln_final.normalized").data;
        const b = w.get("ln_final.b")!.data;
        const bMean = b.reduce((a, v) => a + v, 0) / c.dModel;
        const d = c.dModel;
        for (let r = 0; r < y.length / d; r++) {
          const row = Array.from(y.subarray(r * d, (r + 1) * d));
          expect(Math.abs(row.reduce((a, v) => a + v, 0) / d - bMean)).toBeLessThan(1e-12);
          const centred = row.map((v, i) => v - b[i]!);
          const variance = centred.reduce((a, v) => a + v * v, 0) / d;
          expect(variance).toBeLessThanOrEqual(1 + 1e-12);
          expect(variance).toBeGreaterThan(0.9);
        }
      }),
      { numRuns: 20 },
    );
  });

  it('norm "none" has no norm sites and ignores any norm weights', () => {
    fc.assert(
      fc.property(arbCase({ norm: "none" }), ({ c, ids }) => {
        expect(siteCatalog(c).some((s) => /ln|scale|normalized/.test(s.name))).toBe(false);
        const out = referenceForward(c, randomWeights(c, 1), ids, { sites: "all" });
        expect([...out.sites.keys()].some((n) => n.includes("ln"))).toBe(false);
      }),
      { numRuns: 10 },
    );
  });
});

describe("bad input fails loudly, naming the problem", () => {
  const c: ModelConfig = {
    name: "tiny",
    family: "zoo",
    dModel: 4,
    nLayers: 1,
    nHeads: 2,
    nKvHeads: 1,
    dHead: 2,
    dMlp: 8,
    gatedMlp: true,
    act: "silu",
    vocabSize: 7,
    nCtx: 4,
    positional: "learned",
    rotary: { dim: 2, base: 10000, style: "interleaved" },
    norm: "rmsnorm",
    normEps: 1e-6,
    parallelResidual: false,
    attnScale: 1 / Math.SQRT2,
  };
  const w = randomWeights(c, 0);
  const fails = (f: () => unknown, tag: string, ...parts: string[]) => {
    try {
      f();
    } catch (e) {
      expect((e as { _tag: string })._tag).toBe(tag);
      for (const p of parts) expect(String((e as Error).message)).toContain(p);
      return;
    }
    throw new Error("expected a failure");
  };

  it("token ids out of range, fractional, unequal lengths, empty, too long", () => {
    fails(() => referenceForward(c, w, [[1, 7]]), "InputError", "ids[0][1]", "[0, 7)");
    fails(() => referenceForward(c, w, [[1.5]]), "InputError", "1.5");
    fails(() => referenceForward(c, w, [[1, 2], [3]]), "InputError", "ids[1]", "length 2");
    fails(() => referenceForward(c, w, [[]]), "InputError", "empty");
    fails(() => referenceForward(c, w, []), "InputError");
    fails(() => referenceForward(c, w, [[1, 2, 3, 4, 5]]), "InputError", "n_ctx = 4");
    expect(() => referenceForward(c, w, [[1, 2, 3, 4]])).not.toThrow(InputError);
  });

  it("an unknown site suggests the nearest names", () => {
    fails(
      () => referenceForward(c, w, [[1]], { sites: ["blocks.0.attn.patern"] }),
      "InputError",
      "blocks.0.attn.pattern",
    );
  });

  it("a missing or misshapen weight names the tensor and the shapes", () => {
    const missing = new Map(w);
    missing.delete("blocks.0.mlp.W_gate");
    fails(
      () => referenceForward(c, missing, [[1]]),
      "TensorShapeError",
      "blocks.0.mlp.W_gate",
      "[4, 8]",
      "absent",
    );
    const bad = new Map(w);
    bad.set("blocks.0.attn.W_K", { data: new Float32Array(16), shape: [2, 4, 2] });
    fails(
      () => referenceForward(c, bad, [[1]]),
      "TensorShapeError",
      "blocks.0.attn.W_K",
      "[1, 4, 2]",
      "[2, 4, 2]",
    );
  });
});
