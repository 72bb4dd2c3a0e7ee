import type { ModelConfig } from "@patchbay/core/model";
import type { PatchingTask } from "./circuit.ts";
import { patchingTask, trainedConfig } from "./shared.ts";
import type { TrainExample, TrainTask } from "./train.ts";

/**
 * Trained induction (docs/methods.md#known-circuits): 2-layer attention-only model trained on repeated random
 * sequences [BOS, A, A], A a block of L distinct random tokens, L drawn from minLen … blockLen per
 * example (a fixed L would let a head attend at the fixed offset L − 1 back instead of doing
 * induction). Only the second block's positions 1 + L … 2L − 1 are scored (the next token there
 * is A_{i+1}, predictable only by induction), so the model has to learn a previous-token head and
 * an induction head.
 *
 * Vocabulary (word-level, ./tokenizer.ts): <bos> = 0, <unk> = 1, then the block tokens "t2" …
 * "t{V−1}" (ids 2 … V − 1).
 */
export const TRAINED_INDUCTION = { vocabSize: 24, minLen: 4, blockLen: 10 } as const;
export const TRAINED_INDUCTION_BOS = 0;
/** The first id blocks draw from (0 is <bos>, 1 is <unk>). */
const FIRST = 2;

/**
 * The word vocabulary of the trained induction model (`<bos>`, `<unk>`, then the tokens).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { inductionVocab } from "@patchbay/zoo";
 *
 * const v = inductionVocab();
 * assert.equal(v[0], "<bos>");
 * assert.equal(v.length, 24);
 * ```
 */
export const inductionVocab = (V: number = TRAINED_INDUCTION.vocabSize): string[] => [
  "<bos>",
  "<unk>",
  ...Array.from({ length: V - FIRST }, (_, i) => `t${i + FIRST}`),
];

/**
 * The ModelConfig of the trained induction model: 2 attention-only layers, 2 heads, d_model 32.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { trainedInductionConfig } from "@patchbay/zoo";
 *
 * const c = trainedInductionConfig();
 * assert.deepEqual([c.nLayers, c.nHeads, c.dModel], [2, 2, 32]);
 * ```
 */
export const trainedInductionConfig = (): ModelConfig =>
  trainedConfig({
    name: "zoo-trained-induction",
    vocabSize: TRAINED_INDUCTION.vocabSize,
    nCtx: 2 * TRAINED_INDUCTION.blockLen + 1,
    dMlp: null,
  });

/** Two disjoint blocks of L distinct tokens from 2 … V − 1 (partial Fisher–Yates). */
const blocks = (rand: () => number, V: number, L: number): [number[], number[]] => {
  const pool = Array.from({ length: V - FIRST }, (_, i) => i + FIRST);
  for (let i = 0; i < 2 * L; i++) {
    const j = i + Math.floor(rand() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return [pool.slice(0, L), pool.slice(L, 2 * L)];
};

const scored = (L: number) => Array.from({ length: L - 1 }, (_, i) => 1 + L + i);

const blockLength = (rand: () => number, min: number, max: number) =>
  min + Math.floor(rand() * (max - min + 1));

/**
 * The training task of the trained induction model: random sequences with a repeated block, next-token targets in the repeat. Returns a TrainTask `{ name, sample }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mulberry32 } from "@patchbay/core/model";
 * import { inductionTrainTask } from "@patchbay/zoo";
 *
 * const t = inductionTrainTask();
 * assert.equal(t.name, "induction");
 * assert.ok(t.sample(mulberry32(0)).seq.length > 0);
 * ```
 */
export const inductionTrainTask = (
  V: number = TRAINED_INDUCTION.vocabSize,
  maxLen: number = TRAINED_INDUCTION.blockLen,
  minLen: number = TRAINED_INDUCTION.minLen,
): TrainTask => ({
  name: "induction",
  sample: (rand): TrainExample => {
    const L = blockLength(rand, minLen, maxLen);
    const [A] = blocks(rand, V, L);
    return { seq: [TRAINED_INDUCTION_BOS, ...A, ...A], positions: scored(L), targets: A.slice(1) };
  },
});

/**
 * Clean [BOS, A, A] / corrupted [BOS, B, B] pairs (B disjoint from A); metric: mean logit
 * difference logit[A_{i+1}] − logit[B_{i+1}] over the scored positions.
 *
 * Returns a PatchingTask `{ name, metricName, clean, corrupted, metric, … }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { inductionPatchingTask } from "@patchbay/zoo";
 *
 * const t = inductionPatchingTask(0, 4);
 * assert.equal(t.clean.length, 4);
 * assert.equal(t.corrupted[0]!.length, t.clean[0]!.length);
 * ```
 */
export const inductionPatchingTask = (
  seed: number,
  n: number,
  V: number = TRAINED_INDUCTION.vocabSize,
  maxLen: number = TRAINED_INDUCTION.blockLen,
  minLen: number = TRAINED_INDUCTION.minLen,
): PatchingTask =>
  patchingTask(
    {
      name: "induction",
      metricName: "logit difference A_{i+1} − B_{i+1}, mean over the second block",
      seed,
      n,
    },
    (rand) => {
      const L = blockLength(rand, minLen, maxLen);
      const [A, B] = blocks(rand, V, L);
      return {
        clean: [TRAINED_INDUCTION_BOS, ...A, ...A],
        corrupted: [TRAINED_INDUCTION_BOS, ...B, ...B],
        example: { L, answers: A.slice(1), wrong: B.slice(1) },
        binding: { positions: scored(L), answers: A.slice(1), wrong: B.slice(1) },
      };
    },
    (at, { L, answers, wrong }) => {
      let s = 0;
      const ps = scored(L);
      ps.forEach((p, j) => {
        const row = at(p);
        s += row[answers[j]!]! - row[wrong[j]!]!;
      });
      return s / ps.length;
    },
  );
