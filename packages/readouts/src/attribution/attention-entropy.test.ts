import { makeSessionCache, type SessionCache } from "@patchbay/core/runtime";
import { mulberry32, randomWeights } from "@patchbay/core/model";
import { referenceForward } from "@patchbay/core/reference";
import { Effect, Schema, type Scope } from "effect";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { arbConfig } from "../../../core/src/reference/arbitraries.ts";
import { AttentionEntropySpec, attentionEntropy, rowEntropy } from "./attention-entropy.ts";

/**
 * Attention entropy against a naive computation: the float64 reference forward's `attn.pattern`
 * of each prompt alone (no padding), H = −Σ_k p_k log p_k with plain loops over every key (the
 * masked ones included: their p is 0, and 0·log 0 is taken as 0), averaged by hand.
 */
const run = <A, E>(name: string, f: (cache: SessionCache) => Effect.Effect<A, E, Scope.Scope>) =>
  Effect.runPromise(Effect.scoped(Effect.flatMap(makeSessionCache(name), f)));
const spec = (s: object = {}) => Schema.decodeUnknownSync(AttentionEntropySpec)(s);

const naiveEntropy = (row: readonly number[]): number =>
  row.reduce((h, p) => (p === 0 ? h : h - p * Math.log(p)), 0);

describe("attention entropy", () => {
  it("per head and position = the naive entropy of the reference patterns, over a ragged batch", async () => {
    await fc.assert(
      fc.asyncProperty(arbConfig({ maxLayers: 3 }), fc.nat(1000), async (c, seed) => {
        const w = randomWeights(c, seed);
        const r = mulberry32(seed);
        const prompts = [3, 6, 5].map((n) => Array.from({ length: n }, () => Math.floor(r() * c.vocabSize)));
        const out = await run(`entropy:${c.name}`, (cache) =>
          attentionEntropy(cache, { config: c, weights: w }, spec(), { prompts }),
        );
        const P = 6;
        const sites = Array.from({ length: c.nLayers }, (_, l) => `blocks.${l}.attn.pattern`);
        // naive: [layer][head][pos] sums and counts, one prompt at a time
        const sum = sites.map(() => Array.from({ length: c.nHeads }, () => new Array<number>(P).fill(0)));
        const count = new Array<number>(P).fill(0);
        let positions = 0;
        for (const ids of prompts) {
          const n = ids.length;
          const ref = referenceForward(c, w, [ids], { sites });
          positions += n;
          for (let q = 0; q < n; q++) count[q]! += 1;
          sites.forEach((s, l) => {
            const a = ref.sites.get(s)!.data; // [1, H, n, n]
            for (let h = 0; h < c.nHeads; h++)
              for (let q = 0; q < n; q++) {
                const row = Array.from({ length: n }, (_, k) => a[(h * n + q) * n + k]!);
                sum[l]![h]![q]! += naiveEntropy(row);
              }
          });
        }
        expect(out.prompts).toEqual(count);
        sites.forEach((_, l) => {
          for (let h = 0; h < c.nHeads; h++) {
            const total = sum[l]![h]!.reduce((a, b) => a + b, 0);
            expect(out.mean[l]![h]!).toBeCloseTo(total / positions, 4);
            for (let q = 0; q < P; q++)
              expect(out.perPosition![l]![h]![q]!).toBeCloseTo(sum[l]![h]![q]! / count[q]!, 4);
            // position 0 sees only itself: one key with p = 1, entropy 0
            expect(out.perPosition![l]![h]![0]!).toBeCloseTo(0, 5);
          }
        });
      }),
      { numRuns: 8, seed: 7 },
    );
  });

  it("0·log 0 = 0; uniform attention over n keys has entropy log n; perPosition false leaves it out", async () => {
    expect(rowEntropy([1, 0, 0], 0, 3)).toBe(0);
    expect(rowEntropy([0.25, 0.25, 0.25, 0.25], 0, 4)).toBeCloseTo(Math.log(4), 12);
    expect(rowEntropy([9, 0.5, 0.5, 9], 1, 2)).toBeCloseTo(Math.log(2), 12);
    const c = fc.sample(arbConfig({ maxLayers: 1 }), { numRuns: 1, seed: 3 })[0]!;
    const out = await run(`entropy-mean:${c.name}`, (cache) =>
      attentionEntropy(cache, { config: c, weights: randomWeights(c, 1) }, spec({ perPosition: false }), {
        prompts: [[0, 1, 2]],
      }),
    );
    expect(out.perPosition).toBeUndefined();
    expect(out.mean.length).toBe(1);
    expect(out.mean[0]!.length).toBe(c.nHeads);
    for (const x of out.mean[0]!) expect(x).toBeGreaterThanOrEqual(0);
    for (const x of out.mean[0]!)
      expect(x).toBeLessThanOrEqual((Math.log(1) + Math.log(2) + Math.log(3)) / 3 + 1e-6);
  });

  it("no prompts is an InputError naming data.prompts", async () => {
    const c = fc.sample(arbConfig({ maxLayers: 1 }), { numRuns: 1, seed: 3 })[0]!;
    const exit = await Effect.runPromiseExit(
      Effect.scoped(
        Effect.flatMap(makeSessionCache("entropy-empty"), (cache) =>
          attentionEntropy(cache, { config: c, weights: randomWeights(c, 1) }, spec(), { prompts: [] }),
        ),
      ),
    );
    expect(exit._tag).toBe("Failure");
    expect(JSON.stringify(exit)).toContain("data.prompts");
  });
});
