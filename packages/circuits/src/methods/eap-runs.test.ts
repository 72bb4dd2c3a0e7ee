import { mulberry32 } from "@patchbay/core/model";
import type { Granularity } from "@patchbay/core/edges";
import { makeSessionCache } from "@patchbay/core/runtime";
import { loadModelSync } from "@patchbay/core/weights";
import { Effect, Either } from "effect";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { loadableFixtures, testdataPath } from "../../../core/src/testing/testdata.ts";
import { eap, eapRowFloats } from "./attribution.ts";
import { prepareEdges } from "./index.ts";
import type { EdgeTask } from "./setup.ts";

/**
 * EAP's run budget (issue 17 §5): the fused graph returns each example's own mask gradient and
 * never sums across examples, and every run pads to the dataset's longest example, so cutting the
 * examples into runs of any size must give the same scores, bit for bit. That is what lets the
 * default budget keep GPT-2 small's EAP under 4 GB without making results depend on it.
 */
const FIXTURES = loadableFixtures();

interface Config {
  readonly fixture: string;
  readonly granularity: Granularity;
  readonly metric: EdgeTask["metric"];
  readonly ablation: EdgeTask["ablation"];
  readonly lengths: readonly number[];
  readonly perRun: number;
  readonly seed: number;
  readonly threads: number;
}

const taskOf = (vocab: number, cfg: Config): EdgeTask => {
  const rand = mulberry32(cfg.seed);
  const tok = () => Math.floor(rand() * vocab);
  const clean = cfg.lengths.map((n) => Array.from({ length: n }, tok));
  // at least the first token differs, so resample's Δ is never all zero
  const corrupted = clean.map((s) => s.map((t, p) => (p === 0 ? (t + 1) % vocab : rand() < 0.4 ? tok() : t)));
  const positions = clean.map((s) => [s.length - 1]);
  return {
    clean,
    corrupted,
    positions,
    answers: positions.map(() => [tok()]),
    wrong: positions.map(() => [tok()]),
    ablation: cfg.ablation,
    metric: cfg.metric,
    ...(cfg.ablation === "mean" ? { reference: [...clean, ...corrupted] } : {}),
  };
};

const bits = (x: Float64Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString("hex");

/** EAP with every example in one run, then in runs of `perRun` examples. */
const twoWays = (cfg: Config) => {
  const m = loadModelSync(testdataPath("fixtures", cfg.fixture));
  return Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const cache = yield* makeSessionCache(`eap-runs:${cfg.fixture}`, { threads: cfg.threads });
        const setup = yield* prepareEdges(cache, m, taskOf(m.config.vocabSize, cfg), cfg.granularity);
        const row = eapRowFloats(setup);
        const whole = yield* eap(setup, { maxFloats: row * setup.N });
        const cut = yield* eap(setup, { maxFloats: row * cfg.perRun + row - 1 });
        return { whole, cut, N: setup.N };
      }),
    ),
  );
};

describe("EAP: how examples are cut into runs changes no bit", () => {
  it("random fixtures, granularities, metrics, ablations, ragged lengths, budgets and threads (fast-check)", async () => {
    const config = fc.record({
      fixture: fc.constantFrom(...FIXTURES),
      granularity: fc.constantFrom<Granularity>("head", "head-qkv", "layer"),
      metric: fc.constantFrom<EdgeTask["metric"]>("logit-diff", "kl", "logprob"),
      ablation: fc.constantFrom<EdgeTask["ablation"]>("resample", "zero", "mean"),
      lengths: fc.array(fc.integer({ min: 2, max: 9 }), { minLength: 2, maxLength: 5 }),
      perRun: fc.integer({ min: 1, max: 4 }),
      seed: fc.integer({ min: 0, max: 1 << 30 }),
      threads: fc.constantFrom(1, 2),
    });
    await fc.assert(
      fc.asyncProperty(config, async (cfg) => {
        const { whole, cut, N } = await twoWays(cfg);
        const perRun = Math.min(cfg.perRun, N);
        expect(whole.runs).toBe(1);
        expect(cut.runs).toBe(Math.ceil(N / perRun));
        // KL's gradient vanishes at the clean run (its minimum), so only the other metrics must move
        if (cfg.metric !== "kl") expect(whole.scores.some((s) => s !== 0)).toBe(true);
        expect(bits(cut.scores)).toBe(bits(whole.scores));
      }),
      { numRuns: Number(process.env.EAP_RUNS ?? 30) },
    );
  }, 300_000);

  it("a budget below one example is an InputError naming maxFloats", async () => {
    const m = loadModelSync(testdataPath("fixtures", "tiny-llama"));
    const cfg: Config = {
      fixture: "tiny-llama",
      granularity: "head",
      metric: "kl",
      ablation: "zero",
      lengths: [3, 5],
      perRun: 1,
      seed: 1,
      threads: 1,
    };
    const r = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const cache = yield* makeSessionCache("eap-runs:budget", { threads: 1 });
          const setup = yield* prepareEdges(cache, m, taskOf(m.config.vocabSize, cfg), cfg.granularity);
          return yield* Effect.either(eap(setup, { maxFloats: eapRowFloats(setup) - 1 }));
        }),
      ),
    );
    expect(Either.isLeft(r)).toBe(true);
    if (Either.isLeft(r)) {
      expect(r.left._tag).toBe("InputError");
      expect(r.left).toMatchObject({ field: "maxFloats" });
    }
  }, 60_000);
});
