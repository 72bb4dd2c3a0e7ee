import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { edgeLayout, type Granularity } from "../edges/index.ts";
import { plan, runPlan } from "../engine/index.ts";
import type { Model } from "../model/index.ts";
import { makeSessionCache, type SessionCache } from "../runtime/index.ts";
import { worstMismatch } from "../testing/compare.ts";
import { testdataPath } from "../testing/testdata.ts";
import { loadModelSync } from "../weights/index.ts";
import { ablatedSources, compactAblated, edgeAttribution, fullMask } from "./index.ts";

/**
 * Edge patching on the families with post-norms, soft-caps and sliding windows, on real
 * checkpoints: tiny-gemma2 (its PyTorch-checked weights), and Mistral as tiny-llama's weights
 * with a window of 3 on every layer. A head's source is its share of the post-attention norm
 * (attn.result, see transformer/attention.ts), so attn_out = Σ_h result_h and the edge graph needs
 * no special case: all-ones must be the clean run, all-zeros the corrupted run, and EAP's fused
 * graph must equal the edge-masked graph's mask gradient.
 */
const withCache = <A, E>(f: (cache: SessionCache) => Effect.Effect<A, E>) =>
  Effect.runPromise(Effect.scoped(Effect.flatMap(makeSessionCache("post-norm-window-test"), f)));

const gemma2: Model = loadModelSync(testdataPath("fixtures", "tiny-gemma2"));
const llama = loadModelSync(testdataPath("fixtures", "tiny-llama"));
const mistral: Model = {
  config: {
    ...llama.config,
    name: "tiny-mistral",
    family: "mistral",
    slidingWindow: { size: 3, layers: "all" },
  },
  weights: llama.weights,
};

/** Clean and corrupted prompts of 7 tokens: longer than every window. */
const prompts = (m: Model) => {
  const seq = (k: number) => Array.from({ length: 7 }, (_, p) => (11 * k + 5 * p + 3) % m.config.vocabSize);
  return { clean: [seq(0), seq(1)], corrupted: [seq(2), seq(3)] };
};

const granularities: Granularity[] = ["head", "head-qkv", "layer"];

describe.each([
  ["tiny-gemma2", gemma2],
  ["tiny-mistral (tiny-llama + window 3)", mistral],
])("edge patching on %s", (_name, m) => {
  it.each(granularities)(
    "%s: the all-ones mask is the clean run, all-zeros the corrupted run",
    async (gran) => {
      const { clean, corrupted } = prompts(m);
      const layout = edgeLayout(m.config, gran);
      await withCache((cache) =>
        Effect.gen(function* () {
          const plainClean = yield* runPlan(cache, m, plan(), clean);
          const plainCorrupt = yield* runPlan(cache, m, plan(), corrupted);
          const ablated = yield* ablatedSources(cache, m, layout, "resample", clean, { corrupted });
          const edges = (value: number) =>
            runPlan(cache, m, plan({ edges: { granularity: gran } }), clean, {
              edges: { mask: fullMask(layout, 2, value), ablated },
            });
          const ones = yield* edges(1);
          const zeros = yield* edges(0);
          expect(worstMismatch(ones.logits!.data, plainClean.logits!.data, 1e-5, 1e-4)).toBeNull();
          expect(worstMismatch(zeros.logits!.data, plainCorrupt.logits!.data, 1e-5, 1e-4)).toBeNull();
          // and the two runs differ, so the check can fail
          expect(
            worstMismatch(plainClean.logits!.data, plainCorrupt.logits!.data, 1e-3, 1e-3),
          ).not.toBeNull();
        }),
      );
    },
  );

  it.each(granularities)("%s: EAP through the fused graph = the edge-masked mask gradient", async (gran) => {
    const { clean, corrupted } = prompts(m);
    const layout = edgeLayout(m.config, gran);
    const V = m.config.vocabSize;
    const binding = { positions: [[6], [3, 6]], answers: [[1], [2, 3]], wrong: [[4], [0, 1 % V]] };
    await withCache((cache) =>
      Effect.gen(function* () {
        const ablated = yield* ablatedSources(cache, m, layout, "resample", clean, { corrupted });
        const masked = yield* runPlan(
          cache,
          m,
          plan({
            metric: { kind: "logit-diff" },
            gradients: [{ _tag: "edges", param: "mask" }],
            edges: { granularity: gran },
            logits: false,
          }),
          clean,
          { edges: { mask: fullMask(layout, 2, 1), ablated }, metric: binding },
        );
        const g = masked.grads.get("edges:mask")!.data; //      [2, S, D]
        const SD = g.length / 2;
        const compact = yield* compactAblated(cache, m, layout, "resample", clean, { corrupted });
        const fast = yield* edgeAttribution(cache, m, layout, "logit-diff", clean, compact, binding);
        let worst = 0;
        let scale = 0;
        for (const e of layout.edges) {
          const i = e.source * layout.destinations.length + e.destination;
          const want = g[i]! + g[SD + i]!;
          worst = Math.max(worst, Math.abs(fast.gradient[i]! - want));
          scale = Math.max(scale, Math.abs(want));
        }
        expect(scale).toBeGreaterThan(1e-3);
        expect(worst).toBeLessThanOrEqual(1e-4 * scale + 1e-6);
        // EAP-IG's road (the token embeddings as an input): the clean embeddings give the same scores
        const embed = (yield* runPlan(
          cache,
          m,
          plan({ captures: ["embed"], logits: false }),
          clean,
        )).sites.get("embed")!;
        const viaEmbed = yield* edgeAttribution(
          cache,
          m,
          layout,
          "logit-diff",
          clean,
          compact,
          binding,
          embed,
        );
        let gap = 0;
        fast.gradient.forEach((x, i) => {
          gap = Math.max(gap, Math.abs(x - viaEmbed.gradient[i]!));
        });
        expect(gap).toBeLessThanOrEqual(1e-5 * scale);
      }),
    );
  });
});
