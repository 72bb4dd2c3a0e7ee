import {
  type Alignment,
  type CausalTask,
  type CounterfactualExample,
  type IiaOptions,
  type IiaResult,
  iia as iiaEffect,
  iiaSweep as iiaSweepEffect,
  type SweepResult,
  type SweepSpec,
} from "@patchbay/causal";
import { attempt, InputError } from "@patchbay/core/errors";
import { Effect } from "effect";
import { type PatchbayModel, withModel } from "./model.ts";
import { rejectUnknown } from "./options.ts";

// The plain (non-Effect) helpers that build a task, its alignments and its counterfactual pairs.
export { type CausalBuiltin, causalBuiltin, counterfactuals, familyOf } from "@patchbay/causal";
export type { Alignment, CausalTask, CounterfactualExample, IiaOptions, IiaResult, SweepResult, SweepSpec };

/**
 * Interchange intervention accuracy: the fraction of (base, source) pairs where the model, with each
 * aligned site interchanged from its source, predicts the high-level model's counterfactual label.
 * Options: `rotations` (learned DAS rotations, by variable), `chunkSize` (pairs per run, default 32).
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { causal, open } from "patchbay";
 *
 * const { task, network, alignments } = causal.causalBuiltin("induction");
 * await using model = await open(network, { threads: 1 });          // a model in memory
 * const pairs = causal.counterfactuals(task.model, causal.familyOf(task, "query"), { n: 32, seed: 1 });
 * const r = await causal.iia(model, task, alignments.query!, pairs);
 * assert.equal(r.accuracy, 1);
 * ```
 */
export const iia = (
  model: PatchbayModel,
  task: CausalTask,
  alignment: Alignment,
  examples: readonly CounterfactualExample[],
  options: IiaOptions = {},
): Promise<IiaResult> =>
  withModel(model, "causal.iia", (m) =>
    Effect.flatMap(
      attempt(() => rejectUnknown(options, ["rotations", "chunkSize"], "iia options"), InputError),
      () => iiaEffect(m.sessions, m, task, alignment, examples, options),
    ),
  );

/**
 * IIA over a grid of (site, position) for one variable, with MIB's summary (max over positions per
 * layer, then mean and max over layers).
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { causal, open } from "patchbay";
 *
 * const { task, network } = causal.causalBuiltin("induction");
 * await using model = await open(network, { threads: 1 });
 * const pairs = causal.counterfactuals(task.model, causal.familyOf(task, "query"), { n: 16, seed: 2 });
 * const r = await causal.iiaSweep(model, task, { variable: "Q", sites: ["blocks.1.resid_pre"], positions: ["last"] }, pairs);
 * assert.equal(r.grid.length, 1);
 * ```
 */
export const iiaSweep = (
  model: PatchbayModel,
  task: CausalTask,
  spec: SweepSpec,
  examples: readonly CounterfactualExample[],
): Promise<SweepResult> =>
  withModel(model, "causal.iiaSweep", (m) => iiaSweepEffect(m.sessions, m, task, spec, examples));
