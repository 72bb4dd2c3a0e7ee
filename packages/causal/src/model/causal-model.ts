import { fail, show } from "./errors.ts";

/**
 * High-level causal model (docs/methods.md#causal-models) as data: variables with finite value sets, parents
 * and mechanisms. Input variables have no parents and no mechanism; every other variable is a
 * typed function of its parents. The output variable is what the network is asked to predict.
 *
 *   run(inputs)                 every variable, in topological order: v = f_v(parents(v))
 *   intervene(inputs, fixed)    the same, with the variables in `fixed` held at the given values
 *   interchange(base, [(V, s)]) intervene(base, {v: run(s)[v] for v ∈ V}) for each source s
 *
 * A mechanism may return null where the high-level algorithm is undefined (e.g. an induction
 * query whose token never appeared); counterfactual datasets skip such pairs.
 */
export type Value = number | string | boolean | null | readonly number[];
export type Setting = Readonly<Record<string, Value>>;

export interface Variable {
  readonly name: string;
  /**
   * The value set (null is always allowed: "undefined here"). Required for inputs (they are
   * sampled from it); a variable with a mechanism may leave it out when its values are unbounded
   * (e.g. a vector: the network itself read as a causal model).
   */
  readonly values?: readonly Value[];
  readonly parents: readonly string[];
  /** absent for input variables */
  readonly mechanism?: (parents: Setting) => Value;
}

export interface CausalModelSpec {
  readonly name: string;
  readonly variables: readonly Variable[];
  /** the variable the network's prediction is compared with */
  readonly output: string;
  /**
   * Draw the input variables (uniform over uniform() ∈ [0, 1)); default: each input uniform over
   * its value set, independently. Use it for constraints such as "distinct tokens".
   */
  readonly sample?: (uniform: () => number) => Setting;
}

export interface CausalModel {
  readonly name: string;
  readonly variables: ReadonlyMap<string, Variable>;
  /** every variable, parents before children */
  readonly order: readonly string[];
  readonly inputs: readonly string[];
  readonly output: string;
  readonly sample: (uniform: () => number) => Setting;
}

/**
 * Validate a spec (names unique, parents exist, acyclic, output exists) and order it.
 *
 * Returns a CausalModel `{ name, variables, order, inputs, output, sample }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { causalModel } from "@patchbay/causal";
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
 * assert.deepEqual(m.inputs, ["A", "B"]);
 * assert.deepEqual(m.order, ["A", "B", "Y"]);
 * ```
 */
export const causalModel = (spec: CausalModelSpec): CausalModel => {
  const where = `causal model ${spec.name}`;
  const vars = new Map<string, Variable>();
  spec.variables.forEach((v, i) => {
    if (vars.has(v.name)) fail(where, `variables[${i}].name`, "a unique name", show(v.name));
    if (v.values !== undefined && v.values.length === 0)
      fail(where, `${v.name}.values`, "a non-empty value set", "[]");
    if (v.values === undefined && v.mechanism === undefined)
      fail(where, `${v.name}.values`, "a value set (an input variable is sampled from it)", "none");
    if ((v.mechanism === undefined) !== (v.parents.length === 0))
      fail(
        where,
        `${v.name}.mechanism`,
        "a mechanism exactly when the variable has parents",
        v.mechanism === undefined ? "parents but no mechanism" : "a mechanism but no parents",
      );
    vars.set(v.name, v);
  });
  for (const v of vars.values())
    v.parents.forEach((p, j) => {
      if (!vars.has(p)) fail(where, `${v.name}.parents[${j}]`, "a variable of the model", show(p));
    });
  if (!vars.has(spec.output)) fail(where, "output", "a variable of the model", show(spec.output));
  // Kahn's algorithm, in declaration order among ready variables (deterministic)
  const order: string[] = [];
  const done = new Set<string>();
  while (order.length < vars.size) {
    const ready = [...vars.values()].find((v) => !done.has(v.name) && v.parents.every((p) => done.has(p)));
    if (ready === undefined) {
      const left = [...vars.keys()].filter((n) => !done.has(n));
      return fail(where, "parents", "an acyclic graph", `a cycle among ${left.join(", ")}`);
    }
    order.push(ready.name);
    done.add(ready.name);
  }
  const inputs = order.filter((n) => vars.get(n)!.mechanism === undefined);
  const uniformInputs = (u: () => number): Setting =>
    Object.fromEntries(
      inputs.map((n) => {
        const vs = vars.get(n)!.values!;
        return [n, vs[Math.floor(u() * vs.length)]!];
      }),
    );
  const model: CausalModel = {
    name: spec.name,
    variables: vars,
    order,
    inputs,
    output: spec.output,
    sample: (u) => checkInputs(model, spec.sample?.(u) ?? uniformInputs(u), "sample()"),
  };
  return model;
};

const inValues = (v: Variable, x: Value): boolean =>
  x === null || v.values === undefined || v.values.includes(x);

/** The inputs of a setting, checked: every input variable present and in its value set. */
export const checkInputs = (m: CausalModel, s: Setting, field: string): Setting => {
  const out: Record<string, Value> = {};
  for (const n of m.inputs) {
    const x = s[n];
    if (x === undefined)
      fail(`causal model ${m.name}`, `${field}.${n}`, "a value of the input variable", "nothing");
    if (!inValues(m.variables.get(n)!, x!))
      fail(`causal model ${m.name}`, `${field}.${n}`, `one of ${show(m.variables.get(n)!.values)}`, show(x));
    out[n] = x!;
  }
  return out;
};

/**
 * Every variable's value given the inputs, with the variables in `fixed` held at their values.
 *
 * Returns every variable's value, by name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { causalModel, intervene } from "@patchbay/causal";
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
 * assert.equal(intervene(m, { A: 1, B: 0 }, { B: 1 }).Y, 1); // B held at 1
 * ```
 */
export const intervene = (m: CausalModel, inputs: Setting, fixed: Setting = {}): Setting => {
  for (const n of Object.keys(fixed))
    if (!m.variables.has(n))
      fail(`causal model ${m.name}`, `intervention.${n}`, "a variable of the model", show(n));
  const out: Record<string, Value> = { ...checkInputs(m, inputs, "inputs") };
  for (const n of m.order) {
    const v = m.variables.get(n)!;
    if (n in fixed) out[n] = fixed[n]!;
    else if (v.mechanism !== undefined) {
      const x = v.mechanism(out);
      if (!inValues(v, x))
        fail(`causal model ${m.name}`, `${n} (mechanism)`, `one of ${show(v.values)} or null`, show(x));
      out[n] = x;
    }
  }
  return out;
};

/**
 * Every variable's value given the inputs (no intervention), by name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { causalModel, run } from "@patchbay/causal";
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
 * assert.deepEqual(run(m, { A: 1, B: 1 }), { A: 1, B: 1, Y: 1 });
 * ```
 */
export const run = (m: CausalModel, inputs: Setting): Setting => intervene(m, inputs);

/** One interchange: the variables `variables` take their values under input `source`. */
export interface Interchange {
  readonly variables: readonly string[];
  readonly source: Setting;
}

/**
 * The counterfactual run of an interchange intervention: base inputs, with each group of
 * variables set to its values under its own source (multi-source, multi-variable interchanges).
 *
 * Returns every variable's value, by name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { causalModel, interchange } from "@patchbay/causal";
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
 * // B takes its value from a source where B = 1
 * assert.equal(interchange(m, { A: 1, B: 0 }, [{ variables: ["B"], source: { A: 0, B: 1 } }]).Y, 1);
 * ```
 */
export const interchange = (m: CausalModel, base: Setting, interchanges: readonly Interchange[]): Setting => {
  const fixed: Record<string, Value> = {};
  interchanges.forEach((ic, g) => {
    const s = run(m, ic.source);
    for (const n of ic.variables) {
      if (!m.variables.has(n))
        fail(`causal model ${m.name}`, `interchanges[${g}].variables`, "variables of the model", show(n));
      if (n in fixed)
        fail(`causal model ${m.name}`, `interchanges[${g}].variables`, "each variable in one group", show(n));
      fixed[n] = s[n]!;
    }
  });
  return intervene(m, base, fixed);
};
