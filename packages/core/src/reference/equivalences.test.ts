import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type ModelConfig, randomWeights, type Weights } from "../model/index.ts";
import type { HostTensor } from "../tensor/index.ts";
import { referenceForward } from "./forward.ts";
import { all, arbCase, get, maxDiff } from "./test-support.ts";

/**
 * Two models that must compute the same function: a transformed config and weights against
 * the original. Each catches a different way of misreading the spec (the GQA head map, the
 * rotary pairing, the attention scale, where the norm weights apply, the head sum).
 */

const RUNS = { numRuns: 30 };
type MutableWeights = Map<string, HostTensor>;

/** Rewrite each listed tensor: out[...] = f(index in the new tensor). */
const rebuild = (shape: readonly number[], f: (i: number) => number): HostTensor => {
  const n = shape.reduce((a, b) => a * b, 1);
  return { data: Float32Array.from({ length: n }, (_, i) => f(i)), shape: [...shape] };
};

const logitsOf = (c: ModelConfig, w: Weights, ids: number[][]) => referenceForward(c, w, ids).logits.data;

describe("equivalent models compute the same function", () => {
  it("GQA: a grouped model equals its ungrouped copy with each K/V head duplicated G times", () => {
    fc.assert(
      fc.property(arbCase(), ({ c, seed, ids }) => {
        const w = randomWeights(c, seed);
        const { nHeads: H, nKvHeads: K, dModel: d, dHead: e } = c;
        const G = H / K;
        const wide: ModelConfig = { ...c, nKvHeads: H };
        const w2: MutableWeights = new Map(w);
        for (let l = 0; l < c.nLayers; l++)
          for (const kv of ["K", "V"]) {
            // W_kv'[h] = W_kv[⌊h/G⌋]  [H, d, e];  b_kv'[h] = b_kv[⌊h/G⌋]  [H, e]
            const W = w.get(`blocks.${l}.attn.W_${kv}`)!.data;
            w2.set(
              `blocks.${l}.attn.W_${kv}`,
              rebuild([H, d, e], (i) => W[Math.floor(i / (d * e) / G) * d * e + (i % (d * e))]!),
            );
            const b = w.get(`blocks.${l}.attn.b_${kv}`)?.data;
            if (b !== undefined)
              w2.set(
                `blocks.${l}.attn.b_${kv}`,
                rebuild([H, e], (i) => b[Math.floor(i / e / G) * e + (i % e)]!),
              );
          }
        const grouped = all(c, w, ids);
        const ungrouped = all(wide, w2, ids);
        expect(maxDiff(grouped.logits.data, ungrouped.logits.data)).toBe(0);
        for (let l = 0; l < c.nLayers; l++) {
          // k' at head h is k at head ⌊h/G⌋
          const k = get(grouped.sites, `blocks.${l}.attn.k`).data;
          const k2 = get(ungrouped.sites, `blocks.${l}.attn.k`).data;
          for (let i = 0; i < k2.length; i++) {
            const r = Math.floor(i / (H * e));
            const h = Math.floor(i / e) % H;
            expect(k2[i]).toBe(k[(r * K + Math.floor(h / G)) * e + (i % e)]);
          }
          for (const s of ["attn.pattern", "attn.z", "attn.result", "resid_post"])
            expect(
              maxDiff(
                get(grouped.sites, `blocks.${l}.${s}`).data,
                get(ungrouped.sites, `blocks.${l}.${s}`).data,
              ),
            ).toBe(0);
        }
      }),
      RUNS,
    );
  });

  it("rotary with dim 0 is no rotary", () => {
    fc.assert(
      fc.property(arbCase({ rotary: true }), ({ c, seed, ids }) => {
        const w = randomWeights(c, seed);
        const zero = all({ ...c, rotary: { ...c.rotary!, dim: 0 } }, w, ids);
        expect(get(zero.sites, "blocks.0.attn.rot_q").data).toEqual(get(zero.sites, "blocks.0.attn.q").data);
        expect(maxDiff(zero.logits.data, logitsOf({ ...c, rotary: null }, w, ids))).toBe(0);
      }),
      { numRuns: 15 },
    );
  });

  it('rotary "half" equals "interleaved" once W_Q, W_K columns are permuted (i ↦ 2i, i + r/2 ↦ 2i + 1)', () => {
    fc.assert(
      fc.property(arbCase({ rotary: true }), ({ c, seed, ids }) => {
        const half: ModelConfig = { ...c, rotary: { ...c.rotary!, style: "half" } };
        const inter: ModelConfig = { ...c, rotary: { ...c.rotary!, style: "interleaved" } };
        const w = randomWeights(half, seed);
        const r = c.rotary!.dim;
        const e = c.dHead;
        // interleaved column j reads half column src(j)
        const src = (j: number) => (j >= r ? j : j % 2 === 0 ? j / 2 : (j - 1) / 2 + r / 2);
        const w2: MutableWeights = new Map(w);
        for (let l = 0; l < c.nLayers; l++)
          for (const name of ["W_Q", "W_K", "b_Q", "b_K"]) {
            const t = w.get(`blocks.${l}.attn.${name}`);
            if (t === undefined) continue;
            w2.set(
              `blocks.${l}.attn.${name}`,
              rebuild(t.shape, (i) => t.data[i - (i % e) + src(i % e)]!),
            );
          }
        // q·k sums the same products in another order: equal up to rounding
        expect(maxDiff(logitsOf(half, w, ids), logitsOf(inter, w2, ids))).toBeLessThan(1e-10);
      }),
      RUNS,
    );
  });

  it("scaling W_Q, b_Q by 4 and attnScale by 1/4 changes nothing", () => {
    fc.assert(
      fc.property(arbCase(), ({ c, seed, ids }) => {
        const w = randomWeights(c, seed);
        const w2: MutableWeights = new Map(w);
        for (let l = 0; l < c.nLayers; l++)
          for (const name of ["W_Q", "b_Q"]) {
            const t = w.get(`blocks.${l}.attn.${name}`);
            if (t !== undefined)
              w2.set(
                `blocks.${l}.attn.${name}`,
                rebuild(t.shape, (i) => 4 * t.data[i]!),
              );
          }
        const scaled = logitsOf({ ...c, attnScale: c.attnScale / 4 }, w2, ids);
        expect(maxDiff(logitsOf(c, w, ids), scaled)).toBeLessThan(1e-10);
      }),
      RUNS,
    );
  });

  it("permuting the heads of a multi-head (not grouped) model changes nothing", () => {
    fc.assert(
      fc.property(arbCase(), fc.nat(), ({ c: c0, seed, ids }, k) => {
        const c: ModelConfig = { ...c0, nKvHeads: c0.nHeads };
        const w = randomWeights(c, seed);
        const H = c.nHeads;
        const perm = (h: number) => (h + 1 + (k % H)) % H; // new head h is old head perm(h)
        const w2: MutableWeights = new Map(w);
        for (let l = 0; l < c.nLayers; l++)
          for (const name of ["W_Q", "b_Q", "W_K", "b_K", "W_V", "b_V", "W_O"]) {
            const t = w.get(`blocks.${l}.attn.${name}`);
            if (t === undefined) continue;
            const per = t.data.length / H;
            w2.set(
              `blocks.${l}.attn.${name}`,
              rebuild(t.shape, (i) => t.data[perm(Math.floor(i / per)) * per + (i % per)]!),
            );
          }
        expect(maxDiff(logitsOf(c, w, ids), logitsOf(c, w2, ids))).toBeLessThan(1e-10);
      }),
      RUNS,
    );
  });

  it("folding ln1's weight and bias into W_Q, W_K, W_V (TransformerLens fold_ln) changes nothing", () => {
    fc.assert(
      fc.property(
        arbCase().filter(({ c }) => c.norm !== "none"),
        ({ c, seed, ids }) => {
          const w = randomWeights(c, seed);
          const { dModel: d, dHead: e } = c;
          const w2: MutableWeights = new Map(w);
          for (let l = 0; l < c.nLayers; l++) {
            const g = w.get(`blocks.${l}.ln1.w`)!.data;
            const beta = w.get(`blocks.${l}.ln1.b`)?.data;
            w2.set(
              `blocks.${l}.ln1.w`,
              rebuild([d], () => 1),
            );
            if (beta !== undefined)
              w2.set(
                `blocks.${l}.ln1.b`,
                rebuild([d], () => 0),
              );
            for (const x of ["Q", "K", "V"]) {
              // (x̂·g + β)·W + b = x̂·(diag(g)·W) + (β·W + b)
              const W = w.get(`blocks.${l}.attn.W_${x}`)!;
              const b = w.get(`blocks.${l}.attn.b_${x}`)?.data;
              const n = W.shape[0]!;
              w2.set(
                `blocks.${l}.attn.W_${x}`,
                rebuild(W.shape, (i) => g[Math.floor(i / e) % d]! * W.data[i]!),
              );
              if (beta === undefined && b === undefined) continue;
              w2.set(
                `blocks.${l}.attn.b_${x}`,
                rebuild([n, e], (i) => {
                  const h = Math.floor(i / e);
                  let acc = b?.[i] ?? 0;
                  if (beta !== undefined)
                    for (let j = 0; j < d; j++) acc += beta[j]! * W.data[(h * d + j) * e + (i % e)]!;
                  return acc;
                }),
              );
            }
          }
          // the folded weights are rounded to float32, so agreement is to float32 precision
          const a = logitsOf(c, w, ids);
          const b = logitsOf(c, w2, ids);
          const scale = Math.max(1, ...Array.from(a, Math.abs));
          expect(maxDiff(a, b) / scale).toBeLessThan(1e-4);
        },
      ),
      RUNS,
    );
  });

  it("an attention-only model is the same with a parallel or a serial residual", () => {
    fc.assert(
      fc.property(arbCase({ mlp: false }), ({ c, seed, ids }) => {
        const w = randomWeights(c, seed);
        const serial = logitsOf({ ...c, parallelResidual: false }, w, ids);
        expect(maxDiff(serial, logitsOf({ ...c, parallelResidual: true }, w, ids))).toBe(0);
      }),
      { numRuns: 10 },
    );
  });

  it("a parallel block differs from a serial one when it has an MLP (the MLP reads resid_pre)", () => {
    fc.assert(
      fc.property(arbCase({ mlp: true }), ({ c, seed, ids }) => {
        const w = randomWeights(c, seed);
        const s = all({ ...c, parallelResidual: false }, w, ids);
        const p = all({ ...c, parallelResidual: true }, w, ids);
        expect(get(p.sites, "blocks.0.mlp_in").data).toEqual(get(p.sites, "blocks.0.resid_pre").data);
        expect(
          maxDiff(get(s.sites, "blocks.0.mlp_out").data, get(p.sites, "blocks.0.mlp_out").data),
        ).toBeGreaterThan(0);
      }),
      { numRuns: 10 },
    );
  });
});
