import type { ModelConfig } from "@patchbay/core/model";
import type { PatchingTask } from "./circuit.ts";
import { patchingTask, trainedConfig } from "./shared.ts";
import type { TrainExample, TrainTask } from "./train.ts";

/**
 * Greater-than (Hanna et al. 2023) over a word-level vocabulary in which, as in GPT-2, a year
 * 17YY is two tokens "17" "YY" and the two-digit tokens "00" … "99" are the years:
 *   <bos> The war lasted from the year 17 YY to the year 17   → any ZZ > YY
 * YY is drawn from 01 … 98 for training (so the corruption's "01" is a year the model knows) and
 * from 02 … 98 for the patching pairs; the noun from a small set. Training target: ZZ uniform over
 * YY + 1 … 99 (so the model spreads its mass over the valid years); accuracy: argmax > YY.
 * Corruption: YY → 01 (Hanna et al.'s "01" baseline: every year but 00 and 01 is valid).
 * Metric: probability difference Σ_{ZZ>YY} p(ZZ) − Σ_{ZZ≤YY} p(ZZ) at the last position (softmax
 * over the whole vocabulary), computed from the logits.
 */
export const GT_NOUNS = [
  "war",
  "conflict",
  "reign",
  "siege",
  "journey",
  "expedition",
  "famine",
  "dynasty",
] as const;
const TEMPLATE = "The N lasted from the year 17 YY to the year 17".split(" ");
const YEARS = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, "0"));
const WORDS = [...new Set(TEMPLATE.filter((w) => w !== "N" && w !== "YY" && !YEARS.includes(w)))];

/**
 * The word vocabulary of the trained greater-than model (years 00 … 99 among it).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { greaterThanVocab, yearId } from "@patchbay/zoo";
 *
 * assert.equal(greaterThanVocab()[yearId(17)], "17");
 * ```
 */
export const greaterThanVocab = (): string[] => ["<bos>", "<unk>", ...WORDS, ...GT_NOUNS, ...YEARS];
const VOCAB = greaterThanVocab();
const id = (w: string): number => VOCAB.indexOf(w);
/**
 * Token id of the two-digit year y (0 … 99).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { greaterThanVocab, yearId } from "@patchbay/zoo";
 *
 * assert.equal(greaterThanVocab()[yearId(5)], "05");
 * ```
 */
export const yearId = (y: number): number => id(YEARS[y]!);

/**
 * The ModelConfig of the trained greater-than model (2 layers, 2 heads).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { greaterThanVocab, trainedGreaterThanConfig } from "@patchbay/zoo";
 *
 * assert.equal(trainedGreaterThanConfig().vocabSize, greaterThanVocab().length);
 * ```
 */
export const trainedGreaterThanConfig = (): ModelConfig =>
  trainedConfig({
    name: "zoo-trained-greater-than",
    vocabSize: VOCAB.length,
    nCtx: TEMPLATE.length + 1,
    dMlp: 128,
  });

const sentence = (noun: number, yy: number): number[] => [
  id("<bos>"),
  ...TEMPLATE.map((w) => (w === "N" ? noun : w === "YY" ? yearId(yy) : id(w))),
];

const sampleGt = (rand: () => number, minYY: number) => ({
  noun: id(GT_NOUNS[Math.floor(rand() * GT_NOUNS.length)]!),
  yy: minYY + Math.floor(rand() * (99 - minYY)),
});

/**
 * The training task of the trained greater-than model. Returns a TrainTask `{ name, sample }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mulberry32 } from "@patchbay/core/model";
 * import { greaterThanTrainTask } from "@patchbay/zoo";
 *
 * assert.equal(greaterThanTrainTask().name, "greater-than");
 * assert.ok(greaterThanTrainTask().sample(mulberry32(0)).seq.length > 0);
 * ```
 */
export const greaterThanTrainTask = (): TrainTask => ({
  name: "greater-than",
  sample: (rand): TrainExample => {
    const { noun, yy } = sampleGt(rand, 1);
    const zz = yy + 1 + Math.floor(rand() * (99 - yy));
    const seq = sentence(noun, yy);
    const valid = Array.from({ length: 99 - yy }, (_, i) => yearId(yy + 1 + i));
    return { seq, positions: [seq.length - 1], targets: [yearId(zz)], accept: [valid] };
  },
});

/**
 * Σ_{ZZ>YY} p(ZZ) − Σ_{ZZ≤YY} p(ZZ) from one row of logits.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { greaterThanVocab, probabilityDifference, yearId } from "@patchbay/zoo";
 *
 * const row = new Float32Array(greaterThanVocab().length).fill(-30);
 * row[yearId(90)] = 10; // all the mass on a year after 50
 * assert.ok(probabilityDifference(row, 50) > 0.99);
 * ```
 */
export const probabilityDifference = (row: Float32Array, yy: number): number => {
  let max = Number.NEGATIVE_INFINITY;
  for (const x of row) if (x > max) max = x;
  let z = 0;
  for (const x of row) z += Math.exp(x - max);
  let d = 0;
  for (let y = 0; y < 100; y++) d += ((y > yy ? 1 : -1) * Math.exp(row[yearId(y)]! - max)) / z;
  return d;
};

/**
 * Greater-than clean/corrupted pairs, with the probability difference as the metric. Returns a PatchingTask `{ name, metricName, clean, corrupted, metric, … }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { greaterThanPatchingTask } from "@patchbay/zoo";
 *
 * const t = greaterThanPatchingTask(0, 2);
 * assert.equal(t.clean.length, 2);
 * ```
 */
export const greaterThanPatchingTask = (seed: number, n: number): PatchingTask =>
  patchingTask(
    {
      name: "greater-than",
      metricName: "probability difference Σ_{ZZ>YY} p − Σ_{ZZ≤YY} p at the last position",
      seed,
      n,
    },
    (rand) => {
      const { noun, yy } = sampleGt(rand, 2);
      const clean = sentence(noun, yy);
      const binding = {
        positions: [clean.length - 1],
        answers: [yearId(Math.min(99, yy + 1))],
        wrong: [yearId(yy)],
      };
      return { clean, corrupted: sentence(noun, 1), example: yy, binding };
    },
    (at, yy, clean) => probabilityDifference(at(clean.length - 1), yy),
  );
