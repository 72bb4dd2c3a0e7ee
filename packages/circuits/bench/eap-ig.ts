/**
 * EAP-IG over inputs against its goal unit (issue 17 §4): K × (one forward + backward) on the same
 * batch. The forward + backward is the engine's plain run of the metric with the gradient at the
 * token embeddings (a backward through every layer, no weight gradients: what each EAP-IG step
 * needs at the least). Timed side by side with one forward (the older unit), EAP's fused forward and
 * backward (eap), and EAP-IG. The engine's runs compute the logits at every position, the fused
 * graphs at the metric's positions only: on a large vocabulary (GPT-2's 50,257) that favours the
 * fused graphs, so the ratio to K × EAP's fused pass is recorded beside it (a stricter unit that
 * also pays EAP's contraction with Δ once per row).
 *
 * Run alone (`npx tsx packages/circuits/bench/eap-ig.ts`) it times small models only: a 4-layer
 * cut of the GPT-2-small shape and stories260K (when ../shared/models is there), 8 × 128 tokens
 * (`BENCH_ONLY=stories`: stories260K only).
 */
import { fileURLToPath } from "node:url";
import { plan, runPlan } from "@patchbay/core/engine";
import { gpt2SmallConfig, type ModelConfig, randomWeights, type Weights } from "@patchbay/core/model";
import { makeSessionCache } from "@patchbay/core/runtime";
import { loadModel } from "@patchbay/core/weights";
import { Effect } from "effect";
import { peakRssMb, timeSideBySide } from "../../core/bench/timing.ts";
import { hasSharedModels, sharedModelPath } from "../../core/src/testing/shared.ts";
import { type EdgeSetup, type EdgeTask, eap, eapIgInputs, prepareEdges } from "../src/index.ts";

export interface IgBench {
  /** seconds, medians of interleaved rounds */
  readonly forward: number;
  readonly forwardBackward: number;
  /** EAP's fused forward + backward + contraction on the same batch */
  readonly eap: number;
  readonly ig: number;
  readonly steps: number;
  /** EAP-IG / (K × (forward + backward)): the goal is ≤ 1.3 */
  readonly ratio: number;
}

export const benchEapIg = (setup: EdgeSetup, steps = 5, minRounds = 3, minSeconds = 4) =>
  Effect.promise(async (): Promise<IgBench> => {
    const { cache, model, task, binding } = setup;
    const run = (withGradient: boolean) =>
      Effect.runPromise(
        runPlan(
          cache,
          model,
          plan({
            metric: { kind: task.metric },
            logits: false,
            gradients: withGradient ? [{ _tag: "site", site: "embed" }] : [],
          }),
          task.clean,
          { metric: binding },
        ),
      );
    const t = await timeSideBySide(
      {
        forward: () => run(false),
        forwardBackward: () => run(true),
        eap: () => Effect.runPromise(eap(setup)),
        ig: () => Effect.runPromise(eapIgInputs(setup, { steps })),
      },
      minRounds,
      minSeconds,
    );
    return { ...t, steps, ratio: t.ig / (steps * t.forwardBackward) };
  });

/** The rows bench:circuits records from it. */
export const igRows = (label: string, r: IgBench, sec: (s: number) => string) => [
  {
    name: `${label}: EAP-IG inputs, ${r.steps} steps / forward`,
    value: `${(r.ig / r.forward).toFixed(2)}×`,
    note: `(${sec(r.ig)})`,
  },
  {
    name: `${label}: EAP-IG inputs, ${r.steps} steps / (${r.steps} × (forward + backward))`,
    value: `${r.ratio.toFixed(2)}×`,
    note: `(forward + backward ${sec(r.forwardBackward)}, ${(r.forwardBackward / r.forward).toFixed(2)}× a forward; goal ≤ 1.3×)`,
  },
  {
    name: `${label}: EAP-IG inputs, ${r.steps} steps / (${r.steps} × EAP's fused forward + backward)`,
    value: `${(r.ig / (r.steps * r.eap)).toFixed(2)}×`,
    note: `(EAP ${sec(r.eap)}, ${(r.eap / r.forward).toFixed(2)}× a forward)`,
  },
];

/** N clean/corrupted pairs of length P (bench:circuits' task). */
const taskFor = (c: ModelConfig, N: number, P: number): EdgeTask => {
  const seq = (k: number) => Array.from({ length: P }, (_, p) => (k * 131 + p * 17 + 3) % c.vocabSize);
  return {
    clean: Array.from({ length: N }, (_, b) => seq(2 * b)),
    corrupted: Array.from({ length: N }, (_, b) => seq(2 * b + 1)),
    ablation: "resample",
    metric: "logit-diff",
    positions: Array.from({ length: N }, () => [P - 1]),
    answers: Array.from({ length: N }, (_, b) => [(b + 1) % c.vocabSize]),
    wrong: Array.from({ length: N }, (_, b) => [(b + 2) % c.vocabSize]),
  };
};

const small = (label: string, c: ModelConfig, w: Weights) =>
  Effect.scoped(
    Effect.gen(function* () {
      const cache = yield* makeSessionCache(label);
      const setup = yield* prepareEdges(cache, { config: c, weights: w }, taskFor(c, 8, 128));
      const r = yield* benchEapIg(setup);
      const sec = (s: number) => `${(s * 1000).toFixed(1)} ms`;
      for (const row of igRows(label, r, sec)) console.log(`| ${row.name} | ${row.value} | ${row.note} |`);
    }),
  );

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const cut: ModelConfig = { ...gpt2SmallConfig, name: "gpt2-small-shaped-4L", nLayers: 4 };
  await Effect.runPromise(
    Effect.gen(function* () {
      if (process.env.BENCH_ONLY !== "stories")
        yield* small("gpt2-small-shaped, 4 layers", cut, randomWeights(cut, 0));
      if (hasSharedModels) {
        const stories = yield* loadModel(sharedModelPath("stories260K", "stories260K.bin"));
        yield* small("stories260K", stories.config, stories.weights);
      }
      console.log(`peak RSS ${peakRssMb().toFixed(0)} MB`);
    }),
  );
}
