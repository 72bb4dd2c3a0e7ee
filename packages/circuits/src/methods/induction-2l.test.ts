import { loadModelSync } from "@patchbay/core/weights";
import { makeSessionCache } from "@patchbay/core/runtime";
import { mulberry32 } from "@patchbay/core/model";
import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { hasSharedModels, sharedModelPath, warnIfNoSharedModels } from "../../../core/src/testing/shared.ts";
import { spearman } from "../evaluate/index.ts";
import { eap, eapIgInputs, exactScores, prepareEdges } from "./index.ts";

/**
 * tl-induction-2L (a real trained 2-layer attention-only model): clean [A, A], corrupted [A, B]
 * with A, B random 16-token blocks; metric = mean log-probability of the clean next tokens at
 * positions 16–30. Over all 81 edges, Spearman(EAP, exact patching) against an independent
 * PyTorch reference's 0.94 (computed outside this repository).
 */
warnIfNoSharedModels("methods/induction-2l.test.ts: EAP against exact patching on tl-induction-2L");

export const inductionPairs = (vocab: number, n: number, seed: number) => {
  const rand = mulberry32(seed);
  const block = () => Array.from({ length: 16 }, () => Math.floor(rand() * vocab));
  const clean: number[][] = [];
  const corrupted: number[][] = [];
  for (let i = 0; i < n; i++) {
    const a = block();
    const b = block();
    clean.push([...a, ...a]);
    corrupted.push([...a, ...b]);
  }
  const positions = clean.map(() => Array.from({ length: 15 }, (_, j) => 16 + j));
  const answers = clean.map((s) => positions[0]!.map((p) => s[p + 1]!));
  return { clean, corrupted, positions, answers };
};

describe.skipIf(!hasSharedModels)("tl-induction-2L: EAP against exact patching", () => {
  it("81 edges; Spearman(EAP, exact) close to PyTorch's 0.94", async () => {
    const { config, weights } = loadModelSync(sharedModelPath("tl-induction-2L"));
    const task = {
      ...inductionPairs(config.vocabSize, 64, 1),
      ablation: "resample" as const,
      metric: "logprob" as const,
    };
    const r = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const cache = yield* makeSessionCache(config.name);
          const setup = yield* prepareEdges(cache, { config, weights }, task);
          const exact = yield* exactScores(setup);
          const attribution = yield* eap(setup);
          const ig = yield* eapIgInputs(setup, { steps: 5 });
          return { setup, exact, attribution, ig };
        }),
      ),
    );
    expect(r.setup.layout.edges.length).toBe(81);
    const rho = spearman(r.attribution.scores, r.exact.scores);
    const rhoIg = spearman(r.ig.scores, r.exact.scores);
    console.log(
      `tl-induction-2L: Spearman(EAP, exact) = ${rho.toFixed(3)}, Spearman(EAP-IG-inputs(5), exact) = ${rhoIg.toFixed(3)}`,
    );
    expect(rho).toBeGreaterThan(0.9);
    expect(rho).toBeLessThan(0.98);
  });
});
