import type { PositionSpec } from "../alignment/schema.ts";
import type { CausalModel, Setting, Value } from "../model/causal-model.ts";
import type { Family } from "../model/counterfactuals.ts";
import { fail } from "../model/errors.ts";

/**
 * A causal task binds a high-level model to a network's vocabulary: how an input setting becomes
 * a prompt, which token stands for each output value, and where the prediction is read. Families
 * are the counterfactual datasets it offers (the first is the default).
 */
export interface CausalTask {
  readonly name: string;
  readonly model: CausalModel;
  readonly families: readonly Family[];
  /** token ids of the prompt for an input setting */
  readonly encode: (inputs: Setting) => readonly number[];
  /** the token id the network should predict for an output value */
  readonly label: (output: Value) => number;
  /** where the prediction is read (default "last") */
  readonly readout?: PositionSpec;
}

/**
 * The family of a task by name; a typed error lists the ones it has.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { familyOf, inductionCausalTask } from "@patchbay/causal";
 *
 * const { task } = inductionCausalTask();
 * assert.equal(familyOf(task, "output").name, "output");
 * assert.equal(familyOf(task, undefined).name, "query"); // the first family is the default
 * assert.throws(() => familyOf(task, "nope"), /query, query-same-block, output/);
 * ```
 */
export const familyOf = (task: CausalTask, name: string | undefined): Family => {
  const f = name === undefined ? task.families[0] : task.families.find((x) => x.name === name);
  if (f === undefined)
    return fail(
      `causal task ${task.name}`,
      "family",
      `one of ${task.families.map((x) => x.name).join(", ")}`,
      JSON.stringify(name),
    );
  return f;
};
