import { generate, makeSessionCache, type SessionCache } from "@patchbay/core/runtime";
import { loadModelSync } from "@patchbay/core/weights";
import { normals, randomWeights } from "@patchbay/core/model";
import { readLlama2cTokenizer } from "@patchbay/core/tokenizer";
import { referenceForward } from "@patchbay/core/reference";
import { inductionModel } from "@patchbay/zoo";
import { Effect, Schema } from "effect";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { hasSharedModels, sharedModelPath, warnIfNoSharedModels } from "../../../core/src/testing/shared.ts";
import { arbConfig } from "../../../core/src/reference/arbitraries.ts";
import { happySadData, inductionSteeringData } from "./examples.ts";
import { SteeringSpec } from "./spec.ts";
import { steer, sweepVector } from "./sweep.ts";
import { diffOfMeans } from "./vector.ts";

const withCache = <A, E>(f: (cache: SessionCache) => Effect.Effect<A, E>) =>
  Effect.runPromise(Effect.scoped(Effect.flatMap(makeSessionCache("steering-test"), f)));

const spec = (o: Record<string, unknown>) => Schema.decodeUnknownSync(SteeringSpec)(o);

const prompts = (V: number, seed: number) => [
  Array.from({ length: 5 }, (_, p) => (seed + 3 * p) % V),
  Array.from({ length: 4 }, (_, p) => (seed * 7 + 5 * p + 1) % V),
];

describe("steering sweep", () => {
  it("α = 0 reproduces the clean run exactly (any family, any residual site)", async () => {
    await fc.assert(
      fc.asyncProperty(arbConfig({ maxLayers: 2 }), fc.nat(1000), fc.nat(5), async (c, seed, k) => {
        const w = randomWeights(c, seed);
        const site = ["blocks.0.resid_pre", `blocks.${c.nLayers - 1}.resid_post`, "blocks.0.attn_out"][
          k % 3
        ]!;
        const targets = prompts(c.vocabSize, seed);
        const v = Float64Array.from(normals(seed + 1, c.dModel));
        const r = await withCache((cache) =>
          sweepVector(
            cache,
            { config: c, weights: w },
            spec({ site, alphas: [0, 1], metric: "logprob" }),
            v,
            { targets },
            {
              positions: targets.map((s) => [s.length - 1]),
              answers: [[1], [2]],
            },
          ),
        );
        expect(r.sweep[0]!.perExample).toEqual(r.cleanPerExample);
        expect(r.sweep[1]!.perExample).not.toEqual(r.cleanPerExample);
      }),
      { numRuns: 10, seed: 4 },
    );
  });

  it("norm-free model, v added at the last resid_post: logit-diff(α) − clean = α·v·(W_U[:, a] − W_U[:, b]), monotone", async () => {
    await fc.assert(
      fc.asyncProperty(
        arbConfig({ maxLayers: 2, norm: "none", gemma2Knobs: false }),
        fc.nat(1000),
        async (c, seed) => {
          const w = randomWeights(c, seed);
          const site = `blocks.${c.nLayers - 1}.resid_post`;
          const targets = prompts(c.vocabSize, seed);
          const v = Float64Array.from(normals(seed + 2, c.dModel));
          const [a, b] = [seed % c.vocabSize, (seed + 1) % c.vocabSize];
          const alphas = [-3, -1, -0.5, 0, 0.5, 2, 3];
          const r = await withCache((cache) =>
            sweepVector(
              cache,
              { config: c, weights: w },
              spec({ site, alphas, positions: "last" }),
              v,
              { targets },
              {
                positions: targets.map((s) => [s.length - 1]),
                answers: [[a], [a]],
                wrong: [[b], [b]],
              },
            ),
          );
          const WU = w.get("unembed.W_U")!; //                                   [d, V]
          let slope = 0;
          for (let k = 0; k < c.dModel; k++)
            slope += v[k]! * (WU.data[k * c.vocabSize + a]! - WU.data[k * c.vocabSize + b]!);
          for (const p of r.sweep)
            for (const [i, m] of p.perExample.entries()) {
              const want = r.cleanPerExample[i]! + p.alpha * slope;
              expect(Math.abs(m - want)).toBeLessThan(1e-4 * (1 + Math.abs(want)));
            }
          const ms = r.sweep.map((p) => p.metric);
          for (let i = 1; i < ms.length; i++) {
            if (Math.abs(slope) > 1e-3) expect(Math.sign(ms[i]! - ms[i - 1]!)).toBe(Math.sign(slope));
          }
        },
      ),
      { numRuns: 10, seed: 5 },
    );
  });

  it("the steered metric matches the float64 reference forward with α·v added by a hook (with norms)", async () => {
    await fc.assert(
      fc.asyncProperty(arbConfig({ maxLayers: 2 }), fc.nat(1000), async (c, seed) => {
        const w = randomWeights(c, seed);
        const site = "blocks.0.resid_pre";
        const targets = [Array.from({ length: 5 }, (_, p) => (seed + 3 * p) % c.vocabSize)];
        const v = Float64Array.from(normals(seed + 3, c.dModel));
        const alpha = 0.7;
        const r = await withCache((cache) =>
          sweepVector(
            cache,
            { config: c, weights: w },
            spec({ site, alphas: [alpha], metric: "logprob" }),
            v,
            { targets },
            {
              positions: [[4]],
              answers: [[1]],
            },
          ),
        );
        const ref = referenceForward(c, w, targets, {
          hooks: (name, x) => (name === site ? x.map((e, i) => e + alpha * v[i % c.dModel]!) : undefined),
        });
        const V = c.vocabSize;
        const row = Array.from(ref.logits.data.subarray(4 * V, 5 * V));
        const m = Math.max(...row);
        const logprob = row[1]! - m - Math.log(row.reduce((s, z) => s + Math.exp(z - m), 0));
        expect(Math.abs(r.sweep[0]!.metric - logprob)).toBeLessThan(2e-3 * (1 + Math.abs(logprob)));
      }),
      { numRuns: 10, seed: 6 },
    );
  });

  it("the difference of means equals the naive one from the reference forward", async () => {
    const c = (await fc.sample(arbConfig({ maxLayers: 2 }), { numRuns: 1, seed: 8 }))[0]!;
    const w = randomWeights(c, 3);
    const site = `blocks.${c.nLayers - 1}.resid_post`;
    const pos = prompts(c.vocabSize, 1);
    const neg = prompts(c.vocabSize, 2);
    const pp = [[0, 4], [3]];
    const np = [[1], [0, 1, 2]];
    const v = await withCache((cache) =>
      diffOfMeans(
        cache,
        { config: c, weights: w },
        site,
        { prompts: pos, positions: pp },
        { prompts: neg, positions: np },
      ),
    );
    const naiveMean = (ps: number[][], lists: number[][]) => {
      const mu = new Float64Array(c.dModel);
      let n = 0;
      ps.forEach((s, b) => {
        const x = referenceForward(c, w, [s], { sites: [site] }).sites.get(site)!.data;
        for (const p of lists[b]!) {
          n++;
          for (let k = 0; k < c.dModel; k++) mu[k]! += x[p * c.dModel + k]!;
        }
      });
      return mu.map((m) => m / n);
    };
    const a = naiveMean(pos, pp);
    const b = naiveMean(neg, np);
    for (let k = 0; k < c.dModel; k++) expect(Math.abs(v[k]! - (a[k]! - b[k]!))).toBeLessThan(1e-4);
  });

  it("induction model: steering toward token a raises logit[a] − logit[b] by 20α and greedy decoding follows", async () => {
    const m = inductionModel();
    const data = inductionSteeringData(5, 6, [10, 11, 12, 13, 14, 15, 16, 17]);
    const r = await withCache((cache) =>
      steer(
        cache,
        m,
        spec({
          site: "blocks.1.resid_post",
          meanPositions: "last",
          positions: "last",
          alphas: [0, 0.25, 0.5, 1, 2],
          generateTokens: 1,
        }),
        data,
      ),
    );
    // v ≈ OUT(5) − OUT(6) (+ JUNK differences W_U does not read); W_U = 10 on OUT
    for (const p of r.sweep) expect(p.metric - r.clean).toBeCloseTo(20 * p.alpha, 3);
    // clean: the targets copy their own token (logit-diff 0 between two absent tokens)
    expect(r.clean).toBeCloseTo(0, 4);
    const at = (alpha: number) => r.sweep.find((p) => p.alpha === alpha)!;
    // at α = 0 the continuation is the induction answer; at α = 2 (logit 20 vs 10) it is token 5
    expect(at(0).continuations!.map((c) => c.ids[0])).toEqual(data.targets.map((s) => s[2]));
    expect(at(2).continuations!.every((c) => c.ids[0] === 5)).toBe(true);
  });
});

warnIfNoSharedModels("steering/steering.test.ts: happy − sad steering on stories260K");

describe.skipIf(!hasSharedModels)("stories260K: happy − sad", () => {
  it("the logit difference of ' happy' over ' sad' rises monotonically in α; α = 0 greedy = core generate", async () => {
    const dir = sharedModelPath("stories260K");
    const model = loadModelSync(`${dir}/stories260K.bin`);
    const tok = readLlama2cTokenizer(`${dir}/tok512.bin`);
    const data = happySadData(tok);
    const s = spec({ site: "blocks.2.resid_pre", meanPositions: "last", alphas: [-4, -2, -1, 0, 1, 2, 4] });
    const { r, g, greedy } = await withCache((cache) =>
      Effect.gen(function* () {
        const r = yield* steer(cache, model, s, data, tok);
        const g = yield* steer(cache, model, { ...s, alphas: [0, 1], generateTokens: 8 }, data, tok);
        const greedy = yield* generate(cache, model, data.targets[0]!, { maxTokens: 8, temperature: 0 });
        return { r, g, greedy };
      }),
    );
    const ms = r.sweep.map((p) => p.metric);
    console.log(
      "stories260K happy−sad logit-diff per α:",
      r.sweep.map((p) => `${p.alpha}: ${p.metric.toFixed(3)}`).join(", "),
    );
    for (let i = 1; i < ms.length; i++) expect(ms[i]!).toBeGreaterThan(ms[i - 1]!);
    expect(ms[ms.length - 1]! - ms[0]!).toBeGreaterThan(5);
    expect(r.sweep[3]!.metric).toBe(r.clean);
    expect(g.sweep[0]!.continuations![0]!.ids).toEqual(greedy); // generate returns only the new ids
    expect(g.sweep[0]!.continuations![0]!.text).toBe(tok.decode(greedy));
    console.log(
      "α = 1 continuations:",
      g.sweep[1]!.continuations!.map((c) => JSON.stringify(c.text)).join(" | "),
    );
  });
});
