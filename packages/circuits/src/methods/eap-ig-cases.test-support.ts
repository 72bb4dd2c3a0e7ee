import { mulberry32 } from "@patchbay/core/model";
import type { Model } from "@patchbay/core/model";
import type { Granularity } from "@patchbay/core/edges";
import { loadModelSync } from "@patchbay/core/weights";
import { inductionModel, inductionTask } from "@patchbay/zoo";
import { testdataPath } from "../../../core/src/testing/testdata.ts";
import type { EdgeTask } from "./setup.ts";

/**
 * Test cases for EAP-IG over inputs (eap-ig-batched.test.ts and its golden file, eap-ig-inputs.golden.json): builtin:induction
 * and each tiny fixture, with ragged example lengths (every run pads to the longest example)
 * and several metrics. The golden scores were computed by the unbatched implementation (one capture
 * forward of z(e_k) per row and z̃′ fed per row) before the batched one replaced it.
 */
export interface IgCase {
  readonly name: string;
  readonly model: () => Model;
  readonly task: (m: Model) => EdgeTask;
  readonly steps: number;
  /** default head */
  readonly granularity?: Granularity;
}

const FIXTURES = ["tiny-gpt2", "tiny-llama", "tiny-neox", "tiny-qwen2", "tiny-llama3", "tiny-gemma2"];

/** N examples of lengths 5..8, corrupted = clean with a third of the tokens redrawn. */
const randomTask = (vocab: number, seed: number, metric: EdgeTask["metric"]): EdgeTask => {
  const rand = mulberry32(seed);
  const tok = () => Math.floor(rand() * vocab);
  const lengths = [7, 5, 8];
  const clean = lengths.map((n) => Array.from({ length: n }, tok));
  const corrupted = clean.map((s) => s.map((t) => (rand() < 0.34 ? tok() : t)));
  const positions = clean.map((s) => [s.length - 2, s.length - 1]);
  return {
    clean,
    corrupted,
    positions,
    answers: positions.map(() => [tok(), tok()]),
    wrong: positions.map(() => [tok(), tok()]),
    ablation: "resample",
    metric,
  };
};

export const IG_CASES: readonly IgCase[] = [
  {
    name: "builtin:induction",
    model: () => inductionModel(),
    task: () => ({ ...inductionTask(1, 6, { blockLen: 8 }), ablation: "resample", metric: "logit-diff" }),
    steps: 5,
  },
  ...FIXTURES.map(
    (f, i): IgCase => ({
      name: f,
      model: () => loadModelSync(testdataPath("fixtures", f)),
      task: (m) => randomTask(m.config.vocabSize, 7 + i, i % 2 === 0 ? "logit-diff" : "kl"),
      steps: i % 2 === 0 ? 3 : 4,
    }),
  ),
  // the other granularities: layer (a stream per attention layer), head-qkv under GQA (<k>/<v> per query head)
  ...(
    [
      ["tiny-gpt2", "layer"],
      ["tiny-llama", "head-qkv"],
      ["tiny-gemma2", "head-qkv"],
      ["tiny-neox", "layer"],
    ] as const
  ).map(
    ([f, granularity], i): IgCase => ({
      name: `${f}@${granularity}`,
      model: () => loadModelSync(testdataPath("fixtures", f)),
      task: (m) => randomTask(m.config.vocabSize, 40 + i, i % 2 === 0 ? "kl" : "logit-diff"),
      steps: 2 + i,
      granularity,
    }),
  ),
];
