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
