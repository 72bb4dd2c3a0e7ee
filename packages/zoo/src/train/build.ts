import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Effect } from "effect";
import type { InputError, RuntimeError } from "@patchbay/core/errors";
import { loadModelSync } from "@patchbay/core/weights";
import { makeSessionCache } from "@patchbay/core/runtime";
import { type ModelConfig, randomWeights } from "@patchbay/core/model";
import { circuitJson, type GroundTruth, groundTruthCircuit, type PatchingTask } from "./circuit.ts";
import {
  greaterThanPatchingTask,
  greaterThanTrainTask,
  greaterThanVocab,
  trainedGreaterThanConfig,
} from "./greater-than.ts";
import {
  inductionPatchingTask,
  inductionTrainTask,
  inductionVocab,
  trainedInductionConfig,
} from "./induction.ts";
import { ioiPatchingTask, ioiTrainTask, ioiVocab, trainedIoiConfig } from "./ioi.ts";
import { saveTransformerLensFolder } from "./save.ts";
import { type TrainOptions, type TrainResult, type TrainTask, train } from "./train.ts";

/**
 * The trained zoo: each entry is a model config, a vocabulary, a training task with its Adam
 * settings, and a clean/corrupted patching task for the ground truth. `buildTrained(name, dir)`
 * trains from seeded random weights, saves a TransformerLens folder (./save.ts), reads it back
 * with loadModelSync and establishes the ground-truth circuit on the loaded model by exact edge
 * patching (./circuit.ts), written as circuit.json; training.json keeps the curves and timings.
 */
export type TrainedName = "induction" | "ioi" | "greater-than";

export interface TrainedSpec {
  readonly config: () => ModelConfig;
  readonly vocab: () => string[];
  readonly task: () => TrainTask;
  readonly patching: (seed: number, n: number) => PatchingTask;
  /** Random initialisation: biases or not (seeded by `train.seed`). */
  readonly biases: boolean;
  readonly train: TrainOptions;
}

export const TRAINED: Record<TrainedName, TrainedSpec> = {
  induction: {
    config: trainedInductionConfig,
    vocab: inductionVocab,
    task: inductionTrainTask,
    patching: inductionPatchingTask,
    biases: false,
    train: { seed: 1, steps: 1500, batchSize: 64, lr: 1e-3, warmup: 100, weightDecay: 0.1, evalEvery: 100 },
  },
  ioi: {
    config: trainedIoiConfig,
    vocab: ioiVocab,
    task: ioiTrainTask,
    patching: ioiPatchingTask,
    biases: false,
    train: { seed: 1, steps: 1500, batchSize: 64, lr: 1e-3, warmup: 100, weightDecay: 0.1, evalEvery: 100 },
  },
  "greater-than": {
    config: trainedGreaterThanConfig,
    vocab: greaterThanVocab,
    task: greaterThanTrainTask,
    patching: greaterThanPatchingTask,
    biases: true,
    train: { seed: 1, steps: 2000, batchSize: 64, lr: 1e-3, warmup: 100, weightDecay: 0.1, evalEvery: 100 },
  },
};

export interface BuildOptions {
  /** Overrides of the spec's training options (e.g. fewer steps). */
  readonly train?: Partial<TrainOptions>;
  /** Clean/corrupted pairs for the ground truth (default 64) and their seed (default 12345). */
  readonly patchingExamples?: number;
  readonly patchingSeed?: number;
}

export interface BuildReport {
  readonly name: TrainedName;
  readonly dir: string;
  readonly training: TrainResult;
  readonly groundTruth: GroundTruth;
  readonly circuitSeconds: number;
  /** In-graph edge names, largest |score| first. */
  readonly edges: readonly string[];
}

/**
 * Trains one of the zoo's trained models, writes it as a TransformerLens folder with its ground-truth circuit.json, and reports `{ name, dir, training, groundTruth, circuitSeconds, edges }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { existsSync, mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { Effect } from "effect";
 * import { buildTrained } from "@patchbay/zoo";
 *
 * const dir = join(mkdtempSync(join(tmpdir(), "zoo-")), "induction");
 * const r = await Effect.runPromise(
 *   buildTrained("induction", dir, { train: { steps: 3, heldOut: 8, evalEvery: 3, threads: 1 }, patchingExamples: 4 }),
 * );
 * assert.equal(r.training.losses.length, 3);
 * assert.ok(existsSync(join(dir, "circuit.json")));
 * ```
 */
export const buildTrained = (
  name: TrainedName,
  dir: string,
  opts: BuildOptions = {},
): Effect.Effect<BuildReport, InputError | RuntimeError> =>
  Effect.gen(function* () {
    const spec = TRAINED[name];
    const config = spec.config();
    const trainOpts: TrainOptions = { ...spec.train, ...opts.train };
    const init = randomWeights(config, trainOpts.seed, { biases: spec.biases });
    const training = yield* train({ config, weights: init }, spec.task(), trainOpts);
    saveTransformerLensFolder(dir, { config, weights: training.weights }, spec.vocab());
    const loaded = loadModelSync(dir);
    const start = performance.now();
    const task = spec.patching(opts.patchingSeed ?? 12345, opts.patchingExamples ?? 64);
    const gt = yield* Effect.scoped(
      Effect.flatMap(makeSessionCache(`circuit:${name}`, { threads: trainOpts.threads ?? 1 }), (cache) =>
        groundTruthCircuit(cache, loaded, task),
      ),
    );
    const circuitSeconds = (performance.now() - start) / 1000;
    writeFileSync(
      join(dir, "circuit.json"),
      `${JSON.stringify(circuitJson(loaded.config, gt, task), null, 2)}\n`,
    );
    writeFileSync(
      join(dir, "training.json"),
      `${JSON.stringify(
        {
          task: name,
          options: trainOpts,
          seconds: training.seconds,
          curve: training.curve,
          losses: training.losses,
          circuitSeconds,
        },
        null,
        1,
      )}\n`,
    );
    const edges = gt.layout.edges
      .filter((e) => gt.inGraph[e.index] === 1)
      .sort((a, b) => Math.abs(gt.scores[b.index]!) - Math.abs(gt.scores[a.index]!))
      .map((e) => e.name);
    return { name, dir, training, groundTruth: gt, circuitSeconds, edges };
  });
