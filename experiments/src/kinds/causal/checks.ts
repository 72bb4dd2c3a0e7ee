import {
  type CausalTask,
  type CounterfactualExample,
  type causalBuiltin,
  familyOf,
  locate,
  type PositionSpec,
} from "@patchbay/causal";
import { InputError } from "@patchbay/core/errors";
import { Effect } from "effect";
import type { CausalCellSpec } from "./spec.ts";

/**
 * What a causal cell checks before it computes anything (and so what `validate` checks): its
 * counterfactual families exist, and every position its method names exists in its prompts.
 */

/** A counterfactual family of the task by name (null: its first); an InputError naming the field lists them. */
export const familyNamed = (
  task: CausalTask,
  name: string | null,
  field: string,
): Effect.Effect<ReturnType<typeof familyOf>, InputError> => {
  const known = task.families.map((f) => f.name);
  return name === null || known.includes(name)
    ? Effect.succeed(familyOf(task, name ?? undefined))
    : Effect.fail(
        new InputError({
          field,
          expected: `a counterfactual family of the causal task ${task.name}: ${known.join(", ")}`,
          found: JSON.stringify(name),
        }),
      );
};

/** The position specs a method names, with their fields (named alignments are the task's own). */
const methodPositions = (m: CausalCellSpec["method"]): readonly (readonly [string, PositionSpec])[] => {
  if (m._tag === "das") return m.positions.map((p, j) => [`method.positions[${j}]`, p] as const);
  if (m._tag === "iia-sweep")
    return m.positions === "all" ? [] : m.positions.map((p, j) => [`method.positions[${j}]`, p] as const);
  if (typeof m.alignment === "string") return [];
  return m.alignment.flatMap((a, i) =>
    a.positions.map((p, j) => [`method.alignment[${i}].positions[${j}]`, p] as const),
  );
};

/** Every position the method names exists in every prompt (bases and sources) it will be read in. */
export const checkPositions = (
  builtin: ReturnType<typeof causalBuiltin>,
  m: CausalCellSpec["method"],
  examples: readonly CounterfactualExample[],
): void => {
  const { task } = builtin;
  const where = `causal task ${task.name}`;
  for (const [field, spec] of methodPositions(m))
    for (const [i, e] of examples.entries())
      for (const [k, setting] of [e.base, ...e.sources].entries())
        locate(
          spec,
          task.encode(setting),
          where,
          `${field} in example ${i} (${k === 0 ? "base" : `source ${k}`})`,
        );
};
