import { generate, makeSessionCache, type SessionCache } from "@patchbay/core/runtime";
import type { InputError } from "@patchbay/core/errors";
import { type ModelConfig, mulberry32, randomWeights } from "@patchbay/core/model";
import { referenceForward } from "@patchbay/core/reference";
import { Effect } from "effect";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { arbConfig } from "../../../core/src/reference/arbitraries.ts";
import { lensLogits } from "../lens/evaluate.ts";
import { logSoftmax } from "../lens/numeric.ts";
import { applyTranslator } from "../lens/translator.ts";
import { applyMapping, translatorMapping } from "./mapping.ts";
import { runPatchscope } from "./patchscope.ts";
import { decodePatchscopeSpec } from "./spec.ts";

const withCache = <A, E>(name: string, f: (cache: SessionCache) => Effect.Effect<A, E>): Promise<A> =>
  Effect.runPromise(Effect.scoped(Effect.flatMap(makeSessionCache(name, { threads: 1 }), f)));

const prompt = (c: ModelConfig, seed: number, n: number): number[] => {
  const r = mulberry32(seed);
  return Array.from({ length: n }, () => Math.floor(r() * c.vocabSize));
};

const spec = (s: unknown) => Effect.runSync(decodePatchscopeSpec(s));

describe("patchscopes on random models", () => {
  it("T = S, ℓ* = last resid_post, i* = i, f = id reproduces the logit lens at ℓ exactly", async () => {
    await fc.assert(
      fc.asyncProperty(arbConfig({ maxLayers: 3 }), fc.integer({ min: 0, max: 999 }), async (c, seed) => {
        const model = { config: c, weights: randomWeights(c, seed) };
        const S = prompt(c, seed + 7, Math.min(7, c.nCtx));
        const i = S.length - 2;
        const sites = Array.from({ length: c.nLayers }, (_, l) => `blocks.${l}.resid_pre`);
        const out = await withCache("ps-lens", (cache) =>
          Effect.gen(function* () {
            const lens = yield* lensLogits(cache, model, sites, [S]);
            const scopes = [];
            for (const site of sites)
              scopes.push(
                yield* runPatchscope(
                  cache,
                  model,
                  spec({
                    source: { site, position: i },
                    target: { site: `blocks.${c.nLayers - 1}.resid_post`, position: i },
                    readout: i,
                    generate: 0,
                  }),
                  { examples: [0, 1, 2].map((e) => ({ source: S, target: S, expected: e })) },
                ),
              );
            return { lens, scopes };
          }),
        );
        const V = c.vocabSize;
        sites.forEach((_, k) => {
          const lp = logSoftmax(out.lens.logit[k]!.data.subarray(i * V, (i + 1) * V));
          let top = 0;
          for (let v = 1; v < V; v++) if (lp[v]! > lp[top]!) top = v;
          const r = out.scopes[k]!;
          expect(r.examples[0]!.top.id).toBe(top);
          r.examples.forEach((e, j) => {
            expect(Math.abs(e.surprisal! + lp[j]!)).toBeLessThan(1e-5);
          });
        });
      }),
      { numRuns: 5, seed: 4242 },
    );
  });

  it("patching a site with its own value (T = S, ℓ* = ℓ, i* = i) generates what the model generates", async () => {
    await fc.assert(
      fc.asyncProperty(arbConfig({ maxLayers: 2 }), fc.integer({ min: 0, max: 999 }), async (c, seed) => {
        const model = { config: c, weights: randomWeights(c, seed) };
        const S = prompt(c, seed + 3, 4);
        const k = Math.min(4, c.nCtx - S.length);
        const [mine, ref] = await withCache("ps-gen", (cache) =>
          Effect.all([
            runPatchscope(
              cache,
              model,
              spec({
                source: { site: "blocks.0.resid_post", position: 1 },
                target: { site: "blocks.0.resid_post", position: 1 },
                generate: k,
              }),
              { examples: [{ source: S, target: S }] },
            ),
            generate(cache, model, S, { maxTokens: k, temperature: 0 }),
          ]),
        );
        expect(mine.examples[0]!.generated).toEqual(ref);
        expect(mine.precisionAt1).toBeNull();
      }),
      { numRuns: 5, seed: 77 },
    );
  });

  const cfg = (name: string, d: number, vocab: number): ModelConfig => ({
    name,
    family: "zoo",
    dModel: d,
    nLayers: 2,
    nHeads: 2,
    nKvHeads: 2,
    dHead: 4,
    dMlp: 16,
    gatedMlp: false,
    act: "gelu",
    vocabSize: vocab,
    nCtx: 16,
    positional: "learned",
    rotary: null,
    norm: "layernorm",
    normEps: 1e-5,
    parallelResidual: false,
    attnScale: 0.5,
  });

  it("a cross-model affine patchscope matches the float64 reference with a hook at (ℓ*, i*), generation included", async () => {
    const A = { config: cfg("ps-a", 8, 20), weights: randomWeights(cfg("ps-a", 8, 20), 1) };
    const B = { config: cfg("ps-b", 12, 20), weights: randomWeights(cfg("ps-b", 12, 20), 2) };
    const r = mulberry32(5);
    const M = Array.from({ length: 12 * 8 }, () => (r() - 0.5) * 2);
    const bias = Array.from({ length: 12 }, () => r() - 0.5);
    const S = prompt(A.config, 1, 6);
    const T = prompt(B.config, 2, 5);
    const k = 3;
    const got = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const ca = yield* makeSessionCache("ps-a", { threads: 1 });
          const cb = yield* makeSessionCache("ps-b", { threads: 1 });
          return yield* runPatchscope(
            ca,
            A,
            spec({
              source: { site: "blocks.1.resid_mid", position: 3 },
              target: { site: "blocks.0.resid_post", position: 2 },
              mapping: { _tag: "affine", rows: 12, cols: 8, matrix: M, bias },
              generate: k,
            }),
            { examples: [{ source: S, target: T, expected: 7 }] },
            { cache: cb, model: B },
          );
        }),
      ),
    );
    // oracle: h from A's reference, f(h) hooked into B's reference at (blocks.0.resid_post, 2), greedy loop
    const h = referenceForward(A.config, A.weights, [S], { sites: ["blocks.1.resid_mid"] }).sites.get(
      "blocks.1.resid_mid",
    )!.data;
    const fh = applyMapping({ _tag: "affine", rows: 12, cols: 8, matrix: M, bias }, h.subarray(3 * 8, 4 * 8));
    const V = 20;
    let seq = [...T];
    const gen: number[] = [];
    let firstLp: Float64Array | null = null;
    for (let s = 0; s < k; s++) {
      const out = referenceForward(B.config, B.weights, [seq], {
        hooks: (site, v) => {
          if (site !== "blocks.0.resid_post") return undefined;
          const w = Float64Array.from(v);
          w.set(fh, 2 * 12);
          return w;
        },
      });
      const row = out.logits.data.subarray((seq.length - 1) * V, seq.length * V);
      if (firstLp === null) firstLp = logSoftmax(row);
      let top = 0;
      for (let v = 1; v < V; v++) if (row[v]! > row[top]!) top = v;
      gen.push(top);
      seq = [...seq, top];
    }
    expect(got.examples[0]!.generated).toEqual(gen);
    expect(Math.abs(got.examples[0]!.surprisal! + firstLp![7]!)).toBeLessThan(1e-4);
    expect(got.meanSurprisal).toBe(got.examples[0]!.surprisal);
  });

  it("a tuned-lens translator is the affine mapping I + A, b", () => {
    const d = 5;
    const r = mulberry32(3);
    const t = {
      site: "blocks.0.resid_post",
      A: Float32Array.from({ length: d * d }, () => r() - 0.5),
      b: Float32Array.from({ length: d }, () => r() - 0.5),
    };
    const h = Float32Array.from({ length: d }, () => r() * 2 - 1);
    const want = applyTranslator(t, { data: h, shape: [1, d] }).data;
    const got = applyMapping(translatorMapping(t), h);
    for (let i = 0; i < d; i++) expect(got[i]!).toBeCloseTo(want[i]!, 5);
  });

  it("bad mappings, sites and positions are InputErrors naming the field", async () => {
    const A = { config: cfg("ps-e", 8, 20), weights: randomWeights(cfg("ps-e", 8, 20), 1) };
    const S = prompt(A.config, 1, 4);
    const run = (s: unknown) =>
      withCache("ps-err", (cache) =>
        Effect.flip(runPatchscope(cache, A, spec(s), { examples: [{ source: S, target: S }] })),
      ) as Promise<InputError>;
    const base = {
      source: { site: "blocks.0.resid_post", position: -1 },
      target: { site: "blocks.1.resid_pre", position: -1 },
    };
    expect(
      (await run({ ...base, mapping: { _tag: "affine", rows: 8, cols: 8, matrix: [1, 2] } })).field,
    ).toBe("mapping.matrix");
    expect((await run({ ...base, mapping: { _tag: "affine", rows: 7, cols: 8, matrix: [] } })).field).toBe(
      "mapping.rows",
    );
    expect((await run({ ...base, source: { site: "blocks.0.attn.pattern", position: 0 } })).field).toBe(
      "source.site",
    );
    expect((await run({ ...base, target: { site: "blocks.1.resid_pre", position: 4 } })).field).toBe(
      "examples[0].target.position",
    );
    expect((await run({ ...base, source: { site: "blocks.0.resid_post", position: -5 } })).field).toBe(
      "examples[0].source.position",
    );
  });
});
