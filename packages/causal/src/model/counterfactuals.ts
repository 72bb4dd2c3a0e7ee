import { mulberry32 } from "@patchbay/core/model";
import { type CausalModel, checkInputs, interchange, run, type Setting, type Value } from "./causal-model.ts";
import { fail, show } from "./errors.ts";

/**
 * Counterfactual datasets: (base, sources, counterfactual label) triples for an interchange on
 * given variable groups. A family names how sources are drawn and which variables move; IIA on
 * held-out families (docs/methods.md#das-controls) trains on some families and tests on others.
 */
export interface Family {
  readonly name: string;
  /** one group of high-level variables per source; group g takes its values from source g */
  readonly variables: readonly (readonly string[])[];
  /**
   * Draw the sources for a base (one per group); default: independent samples of the model's
   * inputs. A family can constrain sources (e.g. same block, different query).
   */
  readonly sources?: (base: Setting, uniform: () => number) => readonly Setting[];
}

export interface CounterfactualExample {
  readonly family: string;
  /** input variables of the base */
  readonly base: Setting;
  /** input variables of each source, one per variable group */
  readonly sources: readonly Setting[];
  readonly variables: readonly (readonly string[])[];
  /** the output variable under the interchange */
  readonly label: Value;
  /** the output variable of the base run, without intervention */
  readonly baseLabel: Value;
}

export interface CounterfactualOptions {
  readonly n: number;
  readonly seed: number;
  /**
   * Keep only pairs where the interchange changes the output (label ≠ baseLabel), so that IIA
   * cannot be earned by ignoring the intervention (default true).
   */
  readonly requireChange?: boolean;
  /** Give up after this many draws per example (default 1000): a typed error, never a hang. */
  readonly maxTries?: number;
}

/**
 * n examples of a family, deterministic given the seed (mulberry32). Pairs whose label is
 * undefined (null) are redrawn, and so are unchanged pairs when requireChange.
 *
 * Returns `{ family, base, sources, variables, label, baseLabel }` per example.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { causalModel, counterfactuals } from "@patchbay/causal";
 *
 * const m = causalModel({
 *   name: "and",
 *   variables: [
 *     { name: "A", values: [0, 1], parents: [] },
 *     { name: "B", values: [0, 1], parents: [] },
 *     { name: "Y", parents: ["A", "B"], mechanism: (s) => Number(s.A === 1 && s.B === 1) },
 *   ],
 *   output: "Y",
 * });
 * const data = counterfactuals(m, { name: "B", variables: [["B"]] }, { n: 8, seed: 0 });
 * assert.equal(data.length, 8);
 * assert.ok(data.every((e) => e.label !== e.baseLabel)); // requireChange: the interchange moves Y
 * ```
 */
export const counterfactuals = (
  m: CausalModel,
  family: Family,
  opts: CounterfactualOptions,
): CounterfactualExample[] => {
  const where = `causal model ${m.name}, family ${family.name}`;
  if (family.variables.length === 0) fail(where, "variables", "at least one variable group", "[]");
  family.variables.forEach((g, i) => {
    if (g.length === 0) fail(where, `variables[${i}]`, "a non-empty group", "[]");
    for (const v of g)
      if (!m.variables.has(v)) fail(where, `variables[${i}]`, "variables of the model", show(v));
  });
  const u = mulberry32(opts.seed);
  const requireChange = opts.requireChange ?? true;
  const maxTries = opts.maxTries ?? 1000;
  const out: CounterfactualExample[] = [];
  for (let e = 0; e < opts.n; e++) {
    let found: CounterfactualExample | null = null;
    for (let t = 0; t < maxTries && found === null; t++) {
      const base = m.sample(u);
      const drawn = family.sources?.(base, u) ?? family.variables.map(() => m.sample(u));
      if (drawn.length !== family.variables.length)
        fail(where, "sources()", `${family.variables.length} sources (one per group)`, `${drawn.length}`);
      const sources = drawn.map((s, g) => checkInputs(m, s, `sources()[${g}]`));
      const baseLabel = run(m, base)[m.output]!;
      const label = interchange(
        m,
        base,
        family.variables.map((variables, g) => ({ variables, source: sources[g]! })),
      )[m.output]!;
      if (label === null || baseLabel === null) continue;
      if (requireChange && label === baseLabel) continue;
      found = { family: family.name, base, sources, variables: family.variables, label, baseLabel };
    }
    if (found === null)
      fail(
        where,
        `example ${e}`,
        `a pair with a defined${requireChange ? ", changed" : ""} label within ${maxTries} draws`,
        "none (is the family's intervention able to change the output?)",
      );
    out.push(found!);
  }
  return out;
};
