import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Effect } from "effect";
import { runExperiment } from "../run/experiment.ts";
import { decodeExperiment } from "../spec/load.ts";

/** The explorer tests' cell: EAP on builtin:induction, 8 examples, the top 12 edges (pruned). */
export const INDUCTION_EAP = {
  name: "explorer",
  model: "builtin:induction",
  task: { n: 8 },
  ablation: "resample",
  metric: "logit-diff",
  method: { _tag: "eap" },
  selection: { _tag: "top-n", n: 12 },
} as const;

/** The ground-truth edge the browser tests click out (the induction head's key input from the previous-token head). */
export const GROUND_TRUTH_EDGE = "a0.h1->a1.h2<k>";

/** Run INDUCTION_EAP into `<dir>/results`: the store, the run id and the cell id. */
export const runInductionEap = async (dir: string) => {
  const results = join(dir, "results");
  const loaded = await Effect.runPromise(decodeExperiment(INDUCTION_EAP, join(dir, "explorer.yaml")));
  const s = await Effect.runPromise(runExperiment(loaded, { results }));
  return { results, runId: s.runId, cellId: s.cells[0]!.cellId };
};

/**
 * stories260K's task: which name comes back. " Lily" and " Tim" are one token each in its
 * tokenizer; the corrupted story names Tim instead, so it keeps the length.
 */
export const STORY_NAMES = [
  "Once upon a time, there was a little girl named Lily. One day,",
  "There was a kind girl named Lily. She had a big dog. Every day,",
  "Once upon a time, a girl named Lily lived in a small house. One morning,",
  "Lily was a happy girl. She loved to play in the park with her mom. One day,",
].map((clean) => ({ clean, corrupted: clean.replace("Lily", "Tim"), answer: " Lily", wrong: " Tim" }));

/**
 * EAP on stories260K (`model`: its llama2.c checkpoint) for STORY_NAMES (prompts of different
 * lengths; head-qkv, as MIB names a grouped-query model's edges), the top 40 edges, into
 * `<dir>/results`.
 */
export const runStoriesEap = async (dir: string, model: string) => {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "names.jsonl"), STORY_NAMES.map((l) => JSON.stringify(l)).join("\n"));
  const spec = {
    name: "explorer-stories",
    model,
    task: { file: "names.jsonl" },
    ablation: "resample",
    metric: "logit-diff",
    granularity: "head-qkv",
    method: { _tag: "eap" },
    selection: { _tag: "top-n", n: 40 },
    evaluation: { spearmanSample: 0 },
  };
  const results = join(dir, "results");
  const loaded = await Effect.runPromise(decodeExperiment(spec, join(dir, "explorer-stories.yaml")));
  const s = await Effect.runPromise(runExperiment(loaded, { results }));
  return { results, runId: s.runId, cellId: s.cells[0]!.cellId };
};
