import { atMost, type Limits, num } from "./limits.ts";
import type { CellSpec } from "./schema.ts";

/** The examples limit per cell (./limits.ts), apart so that the schema, which reads limits.ts, is not imported back. */

/** The examples a cell asks for, by field (the fields that size its dataset). */
const examplesOf = (spec: CellSpec): readonly (readonly [string, number])[] => {
  if ("kind" in spec && spec.kind === "causal")
    return [
      ["task.n", spec.task.n],
      ["task.test", spec.task.test],
    ];
  if ("kind" in spec && spec.kind === "readout")
    return spec.data.kind === "task"
      ? [["data.task.n", spec.data.n]]
      : spec.data.kind === "example"
        ? [["data.n", spec.data.n]]
        : [];
  return spec.task.kind === "builtin" ? [["task.n", spec.task.n]] : [];
};

/** The first field of a cell asking for more examples than the limit, or null. */
export const checkExamples = (
  limits: Limits,
  spec: CellSpec,
): { readonly field: string; readonly expected: string; readonly found: string } | null => {
  for (const [field, n] of examplesOf(spec))
    if (n > limits.examples)
      return { field, expected: atMost(limits, "examples", "examples per cell"), found: num(n) };
  return null;
};
