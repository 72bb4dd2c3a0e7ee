import type { ModelConfig } from "@patchbay/core/model";
import type { PatchingTask } from "./circuit.ts";
import { patchingTask, trainedConfig } from "./shared.ts";
import type { TrainExample, TrainTask } from "./train.ts";

/**
 * An IOI-like task (indirect object identification, Wang et al. 2022) over a small word-level
 * vocabulary: fixed templates with two names A, B and a repeated subject S ∈ {A, B}, e.g.
 *   <bos> When A and B went to the store , B gave a drink to   → A   (the name that occurs once)
 * Both orders occur (S = B: "ABBA"; S = A: "BABA"). The answer is the indirect object IO, the
 * name other than S. Corruption (the usual ABC distribution): the same template with three
 * distinct names, all different from A and B, so neither clean answer is supported.
 * Metric: logit difference logit[IO] − logit[S] at the last position.
 */
export const IOI_NAMES = ["Mary", "John", "Alice", "Bob", "Tom", "Anna", "Kate", "Paul"] as const;

/** Templates: "A", "B" are the two names of the first clause, "S" the repeated subject. */
export const IOI_TEMPLATES: readonly (readonly string[])[] = [
  "When A and B went to the store , S gave a drink to".split(" "),
  "When A and B went to the park , S gave a ball to".split(" "),
  "After A and B went to the school , S gave a book to".split(" "),
  "Then , A and B had a long talk . S gave a pen to".split(" "),
  "While A and B were at the market , S handed a bag to".split(" "),
];

const WORDS = [...new Set(IOI_TEMPLATES.flat().filter((w) => w !== "A" && w !== "B" && w !== "S"))];
/**
 * The word vocabulary of the trained IOI model.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ioiVocab } from "@patchbay/zoo";
 *
 * assert.equal(ioiVocab()[0], "<bos>");
 * ```
 */
export const ioiVocab = (): string[] => ["<bos>", "<unk>", ...IOI_NAMES, ...WORDS];
const VOCAB = ioiVocab();
const id = (w: string): number => VOCAB.indexOf(w);
const NAME_IDS = IOI_NAMES.map(id);

/**
 * The ModelConfig of the trained IOI model (2 layers, 2 heads).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ioiVocab, trainedIoiConfig } from "@patchbay/zoo";
 *
 * assert.equal(trainedIoiConfig().vocabSize, ioiVocab().length);
 * ```
 */
export const trainedIoiConfig = (): ModelConfig =>
  trainedConfig({
    name: "zoo-trained-ioi",
    vocabSize: VOCAB.length,
    nCtx: 1 + Math.max(...IOI_TEMPLATES.map((t) => t.length)),
    dMlp: null,
  });

const pick = (rand: () => number, n: number): number => Math.floor(rand() * n);

/** k distinct names (ids) not in `avoid`. */
const names = (rand: () => number, k: number, avoid: readonly number[] = []): number[] => {
  const pool = NAME_IDS.filter((n) => !avoid.includes(n));
  for (let i = 0; i < k; i++) {
    const j = i + pick(rand, pool.length - i);
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, k);
};

const fill = (template: readonly string[], a: number, b: number, s: number): number[] => [
  id("<bos>"),
  ...template.map((w) => (w === "A" ? a : w === "B" ? b : w === "S" ? s : id(w))),
];

interface IoiExample {
  readonly template: number;
  readonly a: number;
  readonly b: number;
  readonly s: number;
  readonly io: number;
}

const sampleIoi = (rand: () => number): IoiExample => {
  const template = pick(rand, IOI_TEMPLATES.length);
  const [a, b] = names(rand, 2) as [number, number];
  const s = rand() < 0.5 ? b : a;
  return { template, a, b, s, io: s === a ? b : a };
};

/**
 * The training task of the trained IOI model. Returns a TrainTask `{ name, sample }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mulberry32 } from "@patchbay/core/model";
 * import { ioiTrainTask } from "@patchbay/zoo";
 *
 * const x = ioiTrainTask().sample(mulberry32(0));
 * assert.equal(x.positions.length, x.targets.length);
 * ```
 */
export const ioiTrainTask = (): TrainTask => ({
  name: "ioi",
  sample: (rand): TrainExample => {
    const e = sampleIoi(rand);
    const seq = fill(IOI_TEMPLATES[e.template]!, e.a, e.b, e.s);
    return { seq, positions: [seq.length - 1], targets: [e.io] };
  },
});

/**
 * IOI clean/corrupted pairs (corrupted: the names swapped) with the logit difference logit[IO] − logit[S] at the last position as the metric. Returns a PatchingTask `{ name, metricName, clean, corrupted, metric, … }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ioiPatchingTask } from "@patchbay/zoo";
 *
 * const t = ioiPatchingTask(0, 2);
 * assert.equal(t.name, "ioi");
 * assert.equal(t.clean[0]!.length, t.corrupted[0]!.length);
 * ```
 */
export const ioiPatchingTask = (seed: number, n: number): PatchingTask =>
  patchingTask(
    { name: "ioi", metricName: "logit difference logit[IO] − logit[S] at the last position", seed, n },
    (rand) => {
      const e = sampleIoi(rand);
      const t = IOI_TEMPLATES[e.template]!;
      const [x, y, z] = names(rand, 3, [e.a, e.b]) as [number, number, number];
      const clean = fill(t, e.a, e.b, e.s);
      const binding = { positions: [clean.length - 1], answers: [e.io], wrong: [e.s] };
      return { clean, corrupted: fill(t, x, y, z), example: e, binding };
    },
    (at, e, clean) => {
      const row = at(clean.length - 1);
      return row[e.io]! - row[e.s]!;
    },
  );
