/** The circuits bench's models and tasks: what every entry (bench/run.ts) opens in its child. */
import { gpt2SmallConfig, type Model, type ModelConfig, randomWeights } from "@patchbay/core/model";
import { loadModel, spill } from "@patchbay/core/weights";
import { Effect } from "effect";
import { hasSharedModels, sharedModelPath } from "../../core/src/testing/shared.ts";
import type { EdgeTask } from "../src/index.ts";

export interface BenchModel {
  /** the name rows carry */
  readonly label: string;
  readonly model: Model;
}

/** Bench models by the name BENCH_ONLY and the child's --model use, in the order they run. */
export const benchModels = {
  gpt2: { label: "gpt2-small-shaped", available: () => true },
  stories: { label: "stories260K", available: () => hasSharedModels },
} as const;

export type BenchModelName = keyof typeof benchModels;

export const openBenchModel = (name: BenchModelName) =>
  Effect.gen(function* () {
    const label = benchModels[name].label;
    // held as openModel holds a checkpoint of this size from a path (past its SPILL_BYTES): in a
    // temporary file, removed with the entry's Scope, so ORT's copy is the only one in memory;
    // BENCH_WEIGHTS=heap keeps them on the JS heap, for comparison
    if (name === "gpt2") {
      const weights = randomWeights(gpt2SmallConfig, 0);
      const held = process.env.BENCH_WEIGHTS === "heap" ? weights : yield* spill(weights, { consume: true });
      return { label, model: { config: gpt2SmallConfig, weights: held } };
    }
    const m = yield* loadModel(sharedModelPath("stories260K", "stories260K.bin"));
    return { label, model: { config: m.config, weights: m.weights } } satisfies BenchModel;
  });

/** N clean/corrupted pairs of length P; logit difference of two ids at the last position. */
export const taskFor = (c: ModelConfig, N: number, P: number): EdgeTask => {
  const seq = (k: number) => Array.from({ length: P }, (_, p) => (k * 131 + p * 17 + 3) % c.vocabSize);
  const clean = Array.from({ length: N }, (_, b) => seq(2 * b));
  const corrupted = Array.from({ length: N }, (_, b) => seq(2 * b + 1));
  const positions = clean.map(() => [P - 1]);
  return {
    clean,
    corrupted,
    ablation: "resample",
    metric: "logit-diff",
    positions,
    answers: clean.map((_, b) => [(b + 1) % c.vocabSize]),
    wrong: clean.map((_, b) => [(b + 2) % c.vocabSize]),
  };
};

export const sec = (s: number) => (s >= 1 ? `${s.toFixed(2)} s` : `${(s * 1000).toFixed(1)} ms`);
