import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { randomWeights } from "../model/index.ts";
import { rotaryFrequencies } from "../model/rotary.ts";
import { checkConfig } from "../weights/validate.ts";
import { arbConfig } from "./arbitraries.ts";
import { referenceForward } from "./forward.ts";

/** The random configurations every property test draws from, and the reference on their random weights. */

const meanStd = (x: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < x.length; i++) m += x[i]!;
  m /= x.length;
  let v = 0;
  for (let i = 0; i < x.length; i++) v += (x[i]! - m) ** 2;
  return { mean: m, std: Math.sqrt(v / x.length) };
};

describe("randomWeights on arbitrary configs", () => {
  it("every arbitrary config gets weights the reference accepts, and logits of a sane size", () => {
    fc.assert(
      fc.property(arbConfig(), fc.nat(), fc.boolean(), (c, seed, biases) => {
        const w = randomWeights(c, seed, { biases });
        const out = referenceForward(c, w, [[0, 1, 2, 3, 4].map((t) => t % c.vocabSize)]);
        const { std } = meanStd(out.logits.data);
        expect(std).toBeGreaterThan(1e-3);
        expect(std).toBeLessThan(30);
      }),
      { numRuns: 100 },
    );
  });
});

describe("arbConfig", () => {
  it("generates valid small configs within the advertised ranges", () => {
    fc.assert(
      fc.property(arbConfig(), (c) => {
        expect(c.nLayers).toBeGreaterThanOrEqual(1);
        expect(c.nLayers).toBeLessThanOrEqual(3);
        expect(c.nHeads % c.nKvHeads).toBe(0);
        expect(c.dHead % 2).toBe(0);
        expect(c.dHead).toBeLessThanOrEqual(8);
        expect(c.dModel >= 4 && c.dModel <= 24).toBe(true);
        expect(c.dMlp === null || (c.dMlp >= 4 && c.dMlp <= 32)).toBe(true);
        expect(c.dMlp !== null || !c.gatedMlp).toBe(true);
        expect(c.vocabSize >= 5 && c.vocabSize <= 40).toBe(true);
        expect(c.nCtx >= 8 && c.nCtx <= 16).toBe(true);
        if (c.rotary !== null) {
          expect(c.rotary.dim % 2).toBe(0);
          expect(c.rotary.dim >= 2 && c.rotary.dim <= c.dHead).toBe(true);
        }
        expect(c.attnScale).toBeCloseTo(1 / Math.sqrt(c.dHead), 15);
      }),
      { numRuns: 200 },
    );
  });

  it("covers every knob", () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(arbConfig(), (c) => {
        seen.add(`norm:${c.norm}`);
        seen.add(`act:${c.act}`);
        seen.add(`gated:${c.gatedMlp}`);
        seen.add(`mlp:${c.dMlp !== null}`);
        seen.add(`gqa:${c.nKvHeads < c.nHeads}`);
        seen.add(`rotary:${c.rotary?.style ?? "none"}`);
        seen.add(`pos:${c.positional}`);
        seen.add(`parallel:${c.parallelResidual}`);
        seen.add(`postNorms:${c.postNorms === true}`);
        seen.add(`attnSoftcap:${c.attnSoftcap != null}`);
        seen.add(`finalSoftcap:${c.finalSoftcap != null}`);
        seen.add(`window:${c.slidingWindow?.layers ?? "none"}`);
      }),
      { numRuns: 300, seed: 1 },
    );
    expect(seen.size).toBe(3 + 4 + 2 + 2 + 2 + 3 + 2 + 2 + 2 + 2 + 2 + 3);
  });

  it("without gemma2Knobs: no post-norms, caps or windows; post-norms only with RMSNorm", () => {
    fc.assert(
      fc.property(arbConfig({ gemma2Knobs: false }), (c) => {
        expect(c.postNorms ?? false).toBe(false);
        expect(c.attnSoftcap ?? null).toBeNull();
        expect(c.finalSoftcap ?? null).toBeNull();
        expect(c.slidingWindow ?? null).toBeNull();
      }),
      { numRuns: 100 },
    );
    fc.assert(
      fc.property(arbConfig(), (c) => {
        if (c.postNorms === true) expect(c.norm).toBe("rmsnorm");
      }),
      { numRuns: 200 },
    );
  });

  it("ropeScaling: every rotary config carries llama3 bands or divisors, valid, with pairs in all three bands", () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(arbConfig({ rotary: true, ropeScaling: true }), (c) => {
        checkConfig(c, "(arbitrary)");
        const s = c.rotary!.scaling!;
        seen.add(s.kind);
        if (s.kind !== "llama3") return;
        const f = rotaryFrequencies(c.rotary!);
        const plain = rotaryFrequencies({ ...c.rotary!, scaling: null });
        f.forEach((x, i) => {
          const r = x / plain[i]!;
          seen.add(r === 1 ? "kept" : Math.abs(r * s.factor - 1) < 1e-12 ? "divided" : "smoothed");
        });
      }),
      { numRuns: 200, seed: 2 },
    );
    expect([...seen].sort()).toEqual(["divided", "divisors", "kept", "llama3", "smoothed"]);
  });
});
