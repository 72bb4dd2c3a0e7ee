import { Effect, Either, Schema } from "effect";
import { describe, expect, it } from "vitest";
import { forward, makeSessionCache, sampleTemperature } from "@patchbay/core/runtime";
import { loadModelSync } from "@patchbay/core/weights";
import { loadTokenizer } from "@patchbay/core/tokenizer";
import { mulberry32 } from "@patchbay/core/model";
import { hasSharedModels, sharedModelPath, warnIfNoSharedModels } from "../../../core/src/testing/shared.ts";
import { featureAttribution } from "./attribution.ts";
import { saeFromArtifact } from "./artifact.ts";
import { decodeSaeSpec, runSae } from "./run.ts";
import { FeatureAttributionSpec } from "./spec.ts";

/**
 * A real SAE on stories260K (llama2.c, d_model 64): a residual site, prompts sampled from the
 * model itself (seeded, temperature 1, from story openings), a small training budget. Reports
 * L0, FVU, dead features and CE loss recovered, and checks feature attribution against exact
 * single-feature patching.
 */
warnIfNoSharedModels("sae/stories.test.ts: the SAE on stories260K");

const SITE = process.env.SAE_SITE ?? "blocks.2.hook_resid_post";
const L1 = Number(process.env.SAE_L1 ?? 2);
const STEPS = Number(process.env.SAE_STEPS ?? 600);
const DICT = Number(process.env.SAE_DICT ?? 128);

describe.skipIf(!hasSharedModels)("stories260K: an SAE on a residual site", () => {
  it(`${SITE}: trains, reconstructs, splices with most CE recovered; feature attribution ranks like exact patching`, async () => {
    const dir = sharedModelPath("stories260K");
    const { config, weights } = loadModelSync(`${dir}/stories260K.bin`);
    const model = { config, weights };
    const tok = await Effect.runPromise(loadTokenizer(`${dir}/tok512.bin`));
    const openings = [
      "Once upon a time",
      "One day, a little girl",
      "Tom and his mom",
      "The sun was shining",
      "Lily wanted to play",
      "There was a big dog",
      "Ben had a red ball",
      "Mia went to the park",
    ];
    const t0 = Date.now();
    const result = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const cache = yield* makeSessionCache(config.name);
          // Sampled in one batch per step through the engine's forward (prompts padded on the right;
          // each row reads the logits at its own last position).
          const u = mulberry32(2024);
          const prompts: number[][] = Array.from({ length: 48 }, (_, k) =>
            tok.encode(openings[k % openings.length]!),
          );
          for (let step = 0; step < 32; step++) {
            const out = yield* forward(cache, model, prompts);
            const [, P, V] = out.logits.shape as [number, number, number];
            prompts.forEach((p, b) => {
              const row = out.logits.data.subarray((b * P + p.length - 1) * V, (b * P + p.length) * V);
              p.push(sampleTemperature(row, 1, u()));
            });
          }
          const spec = Either.getOrThrow(
            decodeSaeSpec({
              site: SITE,
              chunkSize: 16,
              train: { dictSize: DICT, l1: L1, steps: STEPS, batchSize: 128, lr: 2e-3, seed: 1 },
            }),
          );
          const r = yield* runSae(cache, model, spec, { prompts });
          // Attribution: clean prompts vs the same prompts with their last 4 tokens from another
          // prompt; metric: log p of the clean continuation's next token at the last position.
          const clean = prompts.slice(0, 8).map((p) => p.slice(0, 24));
          const corrupted = clean.map((p, b) => [...p.slice(0, 20), ...prompts[(b + 3) % 8]!.slice(20, 24)]);
          const metric = {
            positions: clean.map(() => [23]),
            answers: prompts.slice(0, 8).map((p) => [p[24]!]),
          };
          const sae = Either.getOrThrow(saeFromArtifact(r.sae));
          const attr = yield* featureAttribution(
            cache,
            model,
            sae,
            Schema.decodeUnknownSync(FeatureAttributionSpec)({
              metric: { kind: "logprob" },
              top: 10,
              check: 10,
            }),
            { clean, corrupted, metric },
          );
          return { r, attr };
        }),
      ),
    );
    const { r, attr } = result;
    const s = r.splice!;
    console.log(
      [
        `stories260K SAE at ${r.site} (d ${r.d}, m ${r.dictSize}, λ ${r.l1}, ${STEPS} steps, ${r.tokens.train} train / ${r.tokens.eval} eval tokens, ${((Date.now() - t0) / 1000).toFixed(1)} s)`,
        `  eval: L0 ${r.eval.l0.toFixed(2)}  FVU ${r.eval.fvu.toFixed(4)}  MSE ${r.eval.mse.toExponential(3)}  dead ${r.eval.dead}/${r.dictSize}`,
        `  CE clean ${s.ceClean.toFixed(4)}  spliced ${s.ceSae.toFixed(4)}  zero ${s.ceZero.toFixed(4)}  recovered ${s.ceLossRecovered?.toFixed(4)}`,
        `  loss ${r.history[0]!.loss.toFixed(2)} → ${r.history.at(-1)!.loss.toFixed(2)}`,
        `  attribution vs exact (top ${attr.check!.features.length}): spearman ${attr.check!.spearman?.toFixed(3)}, max |diff| ${attr.check!.maxAbsDiff.toExponential(2)}`,
        ...attr.check!.features.map(
          (f) => `    f${f.feature}: ${f.attribution.toFixed(5)} vs ${f.exact.toFixed(5)}`,
        ),
      ].join("\n"),
    );
    expect(r.history.at(-1)!.loss).toBeLessThan(r.history[0]!.loss / 2);
    expect(r.eval.fvu).toBeLessThan(0.3);
    expect(r.eval.l0).toBeLessThan(64);
    expect(s.ceZero).toBeGreaterThan(s.ceClean);
    expect(s.ceLossRecovered!).toBeGreaterThan(0.5);
    expect(Math.abs(attr.metricSpliced - attr.metricClean)).toBeLessThan(1e-4);
    expect(attr.check!.spearman!).toBeGreaterThan(0.3);
  });
});
