import { makeSessionCache, type SessionCache } from "@patchbay/core/runtime";
import { mulberry32, randomWeights } from "@patchbay/core/model";
import { referenceForward } from "@patchbay/core/reference";
import { inductionModel, inductionTask } from "@patchbay/zoo";
import { Effect, Schema, type Scope } from "effect";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { arbConfig } from "../../../core/src/reference/arbitraries.ts";
import { attentionPatterns } from "./attention.ts";
import { attentionRollout } from "./rollout.ts";
import { AttentionSpec } from "./spec.ts";

/**
 * Attention patterns against the float64 reference's `attn.pattern`, per prompt of a ragged
 * (padded) batch; rollout against a naive implementation that composes the maps the other way
 * round (rollout_L = Â_L(Â_{L−1}(⋯ Â_0)), one input token's column at a time) with Float64Array.
 */
const run = <A, E>(name: string, f: (cache: SessionCache) => Effect.Effect<A, E, Scope.Scope>) =>
  Effect.runPromise(Effect.scoped(Effect.flatMap(makeSessionCache(name), f)));
const spec = (s: object = {}) => Schema.decodeUnknownSync(AttentionSpec)(s);

/** Naive rollout: for each input token k, push the one-hot column e_k up through Â_0 … Â_{L−1}. */
const naiveRollout = (patterns: number[][][][], rho: number): Float64Array => {
  const L = patterns.length;
  const H = patterns[0]!.length;
  const P = patterns[0]![0]!.length;
  const hat = (l: number, q: number, k: number) => {
    let z = 0;
    for (let m = 0; m < P; m++) {
      let a = 0;
      for (let h = 0; h < H; h++) a += patterns[l]![h]![q]![m]!;
      z += ((1 - rho) * a) / H + (q === m ? rho : 0);
    }
    let a = 0;
    for (let h = 0; h < H; h++) a += patterns[l]![h]![q]![k]!;
    return (((1 - rho) * a) / H + (q === k ? rho : 0)) / z;
  };
  const out = new Float64Array(P * P); // [q, k]
  for (let k = 0; k < P; k++) {
    let col = new Float64Array(P);
    col[k] = 1;
    for (let l = 0; l < L; l++) {
      const next = new Float64Array(P);
      for (let q = 0; q < P; q++) for (let m = 0; m < P; m++) next[q]! += hat(l, q, m) * col[m]!;
      col = next;
    }
    for (let q = 0; q < P; q++) out[q * P + k] = col[q]!;
  }
  return out;
};

describe("attention patterns and rollout", () => {
  it("patterns = the reference's, per prompt of a padded batch; rollout = the naive composition", async () => {
    await fc.assert(
      fc.asyncProperty(
        arbConfig({ maxLayers: 3 }),
        fc.nat(1000),
        fc.double({ min: 0, max: 1, noNaN: true }),
        async (c, seed, rho) => {
          const w = randomWeights(c, seed);
          const r = mulberry32(seed);
          const prompts = [4, 6].map((n) => Array.from({ length: n }, () => Math.floor(r() * c.vocabSize)));
          const out = await run(`att:${c.name}`, (cache) =>
            attentionPatterns(cache, { config: c, weights: w }, spec({ residualWeight: rho }), { prompts }),
          );
          prompts.forEach((ids, b) => {
            const P = ids.length;
            const e = out.examples[b]!;
            const ref = referenceForward(c, w, [ids], {
              sites: Array.from({ length: c.nLayers }, (_, l) => `blocks.${l}.attn.pattern`),
            });
            e.patterns!.forEach((layer, l) => {
              const a = ref.sites.get(`blocks.${l}.attn.pattern`)!.data; // [1, H, P, P]
              expect(layer.length).toBe(c.nHeads);
              layer.forEach((head, h) => {
                expect(head.length).toBe(P);
                head.forEach((row, q) => {
                  expect(row.length).toBe(P);
                  row.forEach((x, k) => {
                    expect(x).toBeCloseTo(a[(h * P + q) * P + k]!, 5);
                  });
                });
              });
            });
            const naive = naiveRollout(e.patterns!, rho);
            const full = e.rollout![c.nLayers - 1]!;
            full.forEach((row, q) => {
              expect(row.reduce((s, x) => s + x, 0)).toBeCloseTo(1, 5); // row-stochastic
              row.forEach((x, k) => {
                expect(x).toBeCloseTo(naive[q * P + k]!, 6);
                if (k > q) expect(x).toBeCloseTo(0, 6); // causal
              });
            });
          });
        },
      ),
      { numRuns: 10, seed: 13 },
    );
  });

  it("edge cases: ρ = 1 is the identity, ρ = 0 on one layer is the head-mean pattern", () => {
    const A = [
      [
        [
          [1, 0, 0],
          [0.25, 0.75, 0],
          [0.2, 0.3, 0.5],
        ],
        [
          [1, 0, 0],
          [0.75, 0.25, 0],
          [0.6, 0.3, 0.1],
        ],
      ],
    ];
    expect(attentionRollout(A, 1)[0]).toEqual([
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ]);
    const mean = attentionRollout(A, 0)[0]!;
    expect(mean[1]![0]).toBeCloseTo(0.5, 12);
    expect(mean[2]![2]).toBeCloseTo(0.3, 12);
  });

  it("induction model: the induction head attends from a repeat to the token after its first occurrence", async () => {
    const m = inductionModel();
    const task = inductionTask(4, 1, { blockLen: 6 });
    const out = await run("att-induction", (cache) =>
      attentionPatterns(cache, m, spec({ rollout: false }), { prompts: task.clean }),
    );
    const e = out.examples[0]!;
    expect(e.rollout).toBeUndefined();
    const head = e.patterns![1]![2]!; // [q][k]
    // [BOS, A1..A6, A1..A6]: position 7 + i holds A_{i+1}, first seen at 1 + i → attends to 2 + i
    for (let i = 0; i < 5; i++) expect(head[7 + i]![2 + i]!).toBeGreaterThan(0.99);
    const prev = e.patterns![0]![1]!;
    for (let q = 1; q < 13; q++) expect(prev[q]![q - 1]!).toBeGreaterThan(0.99);
  });
});
