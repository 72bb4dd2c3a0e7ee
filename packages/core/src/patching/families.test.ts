import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { plan, runPlan } from "../engine/index.ts";
import { edgeLayout, type Granularity } from "../edges/index.ts";
import { makeSessionCache, type SessionCache } from "../runtime/index.ts";
import { worstMismatch } from "../testing/compare.ts";
import { loadableFixtures, testdataPath } from "../testing/testdata.ts";
import { loadModelSync } from "../weights/index.ts";
import { ablatedSources, fullMask } from "./index.ts";

/**
 * The edge graph on the real fixture of every family that loads (GPT-2, LLaMA, NeoX, Qwen2's
 * q/k/v biases under GQA, Llama 3's rescaled rotary with head_dim 16 over one kv head, Gemma 2's post-norms, soft-caps
 * and windows, …): at
 * every granularity an all-ones mask reproduces the clean run and an all-zeros mask the corrupted
 * run (resample ablation).
 */
const withCache = <A, E>(f: (cache: SessionCache) => Effect.Effect<A, E>) =>
  Effect.runPromise(Effect.scoped(Effect.flatMap(makeSessionCache("families-edges-test"), f)));

const GRANULARITIES: readonly Granularity[] = ["head", "head-qkv", "layer"];

describe("edge-masked execution on every family's fixture", () => {
  const names = loadableFixtures();
  it("covers Qwen2, Llama 3 and Gemma 2", () => {
    expect(names).toEqual(expect.arrayContaining(["tiny-llama", "tiny-llama3", "tiny-qwen2", "tiny-gemma2"]));
  });

  for (const name of names)
    it(`${name}: all-ones mask = the clean run, all-zeros = the corrupted run`, async () => {
      const m = loadModelSync(testdataPath("fixtures", name));
      const V = m.config.vocabSize;
      const seq = (k: number) => Array.from({ length: 7 }, (_, p) => (k * 11 + p * (2 * k + 3) + 1) % V);
      const clean = [seq(0), seq(1)];
      const corrupted = [seq(2), seq(3)];
      await withCache((cache) =>
        Effect.gen(function* () {
          const plainClean = yield* runPlan(cache, m, plan(), clean);
          const plainCorrupt = yield* runPlan(cache, m, plan(), corrupted);
          for (const granularity of GRANULARITIES) {
            const layout = edgeLayout(m.config, granularity);
            const ablated = yield* ablatedSources(cache, m, layout, "resample", clean, { corrupted });
            const run = (value: 0 | 1) =>
              runPlan(cache, m, plan({ edges: { granularity } }), clean, {
                edges: { mask: fullMask(layout, 2, value), ablated },
              });
            const ones = yield* run(1);
            const zeros = yield* run(0);
            expect(
              worstMismatch(ones.logits!.data, plainClean.logits!.data, 1e-4, 1e-4),
              granularity,
            ).toBeNull();
            expect(
              worstMismatch(zeros.logits!.data, plainCorrupt.logits!.data, 1e-4, 1e-3),
              granularity,
            ).toBeNull();
          }
        }),
      );
    });
});
