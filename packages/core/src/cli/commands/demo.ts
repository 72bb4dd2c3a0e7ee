import { Effect } from "effect";
import { type ModelConfig, randomWeights } from "../../model/index.ts";
import { siteCatalog } from "../../sites/index.ts";
import { referenceForward } from "../../reference/index.ts";
import { forward, generate, makeSessionCache } from "../../runtime/index.ts";
import { maxAbsDiff } from "../../internal/compare.ts";
import { type Flags, intFlag } from "../args.ts";

/**
 * The main job until the model zoo lands: construct a small LLaMA-style model (grouped-query
 * attention, rotary, SwiGLU) from seeded random weights, build it as an ONNX graph, and show the
 * runtime: a padded batch, captured sites, agreement with the naive reference, generation.
 */
const demoConfig: ModelConfig = {
  name: "demo-llama",
  family: "zoo",
  dModel: 64,
  nLayers: 4,
  nHeads: 8,
  nKvHeads: 2,
  dHead: 8,
  dMlp: 172,
  gatedMlp: true,
  act: "silu",
  vocabSize: 256,
  nCtx: 128,
  positional: "none",
  rotary: { dim: 8, base: 10000, style: "half" },
  norm: "rmsnorm",
  normEps: 1e-5,
  parallelResidual: false,
  attnScale: 1 / Math.sqrt(8),
};

export const demoCommand = (f: Flags) =>
  Effect.scoped(
    Effect.gen(function* () {
      const seed = intFlag(f, "seed", 0);
      const c = demoConfig;
      const weights = randomWeights(c, seed);
      const model = { config: c, weights };
      console.log(
        `patchbay demo: ${c.name} — ${c.nLayers} layers, d_model ${c.dModel}, ${c.nHeads} query heads over ${c.nKvHeads} key/value heads, rotary, SwiGLU (seed ${seed})`,
      );
      console.log(`${siteCatalog(c).length} sites; e.g. blocks.0.attn.pattern [batch, head, pos, key_pos]`);
      const cache = yield* makeSessionCache(c.name);
      const prompts = [
        [1, 17, 42, 99, 3, 17, 42],
        [5, 6, 7],
        [200, 201, 202, 203, 204],
      ];
      const t0 = performance.now();
      const out = yield* forward(cache, model, prompts, ["blocks.0.attn.pattern", "blocks.3.resid_post"]);
      const t1 = performance.now();
      console.log(
        `forward on a padded batch of ${prompts.length} (lengths ${out.lengths.join(", ")}): logits [${out.logits.shape.join(", ")}] in ${(t1 - t0).toFixed(0)} ms (graph built and compiled on first use)`,
      );
      for (const [name, t] of out.sites) console.log(`  captured ${name} [${t.shape.join(", ")}]`);
      // Agreement with the independent float64 reference, per sequence (the reference takes no padding).
      let worst = 0;
      for (const [b, seq] of prompts.entries()) {
        const ref = referenceForward(c, weights, [seq]);
        const V = c.vocabSize;
        const P = out.logits.shape[1]!;
        worst = Math.max(
          worst,
          maxAbsDiff(out.logits.data.subarray(b * P * V, (b * P + seq.length) * V), ref.logits.data),
        );
      }
      console.log(`max |ONNX − naive reference| over the logits: ${worst.toExponential(2)}`);
      const gen = yield* generate(cache, model, prompts[0]!, { maxTokens: 12, temperature: 0 });
      console.log(`greedy continuation of [${prompts[0]!.join(", ")}]: [${gen.join(", ")}]`);
      const t2 = performance.now();
      yield* forward(cache, model, prompts);
      console.log(`second forward (cached session): ${(performance.now() - t2).toFixed(1)} ms`);
    }),
  );
