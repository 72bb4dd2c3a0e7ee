import { Effect } from "effect";
import fc from "fast-check";
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { InputError } from "../errors/index.ts";
import { gpt2SmallConfig, randomWeights } from "../model/index.ts";
import { arbConfig } from "../reference/arbitraries.ts";
import { makeBatch } from "./batch.ts";
import { feeds, forward } from "./forward.ts";
import { makeSessionCache } from "./index.ts";
import { worstMismatch } from "../testing/compare.ts";
import { buildTransformerGraph, type ForwardStart, FROM_RESID } from "../transformer/index.ts";

/**
 * (transformer/build.ts, tested here: the transformer layer may not import the runtime.)
 * A forward started at a residual-stream site (BuildOptions.from), fed that site's value from a
 * full run, gives the full run's logits: for every start of every layer, on random configs.
 */
describe("buildTransformerGraph from a residual-stream site", () => {
  it("reproduces the full forward's logits from resid_pre, resid_mid and resid_post", async () => {
    await fc.assert(
      fc.asyncProperty(arbConfig({ maxLayers: 3 }), fc.nat(300), async (c, seed) => {
        const m = { config: c, weights: randomWeights(c, seed) };
        const n = Math.min(5, c.nCtx);
        const seqs = [0, 1].map((k) =>
          Array.from({ length: n - k }, (_, p) => (seed + 3 * p + 7 * k) % c.vocabSize),
        );
        const starts: ForwardStart[] = [];
        for (let layer = 0; layer < c.nLayers; layer++)
          for (const site of ["resid_pre", "resid_mid", "resid_post"] as const)
            if (!(site === "resid_mid" && c.parallelResidual)) starts.push({ layer, site });
        const captures = starts.map((s) => `blocks.${s.layer}.${s.site}`);
        await Effect.runPromise(
          Effect.scoped(
            Effect.gen(function* () {
              const cache = yield* makeSessionCache("from-test", { threads: 1 });
              const full = yield* forward(cache, m, seqs, captures);
              const batch = makeBatch(c, seqs);
              for (const [i, from] of starts.entries()) {
                const session = yield* cache.get(
                  `from:${from.layer}:${from.site}`,
                  () => buildTransformerGraph(c, m.weights, { from }).graph,
                );
                expect(session.inputNames).not.toContain("input_ids");
                const resid = full.sites.get(captures[i]!)!;
                const out = yield* Effect.promise(() =>
                  session.run({
                    ...feeds(
                      batch,
                      session.inputNames.filter((x) => x !== FROM_RESID),
                    ),
                    [FROM_RESID]: new ort.Tensor("float32", resid.data, resid.shape),
                  }),
                );
                const logits = out.logits!.data as Float32Array;
                expect(
                  worstMismatch(logits, full.logits.data, 1e-4, 1e-4),
                  `${c.name} ${captures[i]}`,
                ).toBeNull();
              }
            }),
          ),
        );
      }),
      { numRuns: 10, seed: 5 },
    );
  }, 120_000);

  it("a start the model lacks is an InputError naming the field", () => {
    const c = {
      ...gpt2SmallConfig,
      nLayers: 1,
      dModel: 16,
      nHeads: 2,
      dHead: 8,
      dMlp: 32,
      vocabSize: 11,
      nCtx: 8,
    };
    const w = randomWeights(c, 0);
    expect(() => buildTransformerGraph(c, w, { from: { layer: 1, site: "resid_pre" } })).toThrow(InputError);
    expect(() =>
      buildTransformerGraph({ ...c, parallelResidual: true }, w, { from: { layer: 0, site: "resid_mid" } }),
    ).toThrow(/from\.site/);
  });
});
