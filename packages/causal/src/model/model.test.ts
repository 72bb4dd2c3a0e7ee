import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { causalModel, interchange, intervene, run, type Setting } from "./causal-model.ts";
import { counterfactuals } from "./counterfactuals.ts";

/** A hand-checkable model: S = A + B, P = B·C, O = S > P (booleans). */
const arith = causalModel({
  name: "arith",
  variables: [
    { name: "A", values: [0, 1, 2, 3], parents: [] },
    { name: "B", values: [0, 1, 2, 3], parents: [] },
    { name: "C", values: [0, 1, 2, 3], parents: [] },
    {
      name: "S",
      values: [0, 1, 2, 3, 4, 5, 6],
      parents: ["A", "B"],
      mechanism: (s) => (s.A as number) + (s.B as number),
    },
    {
      name: "P",
      values: [0, 1, 2, 3, 4, 6, 9],
      parents: ["B", "C"],
      mechanism: (s) => (s.B as number) * (s.C as number),
    },
    {
      name: "O",
      values: [true, false],
      parents: ["S", "P"],
      mechanism: (s) => (s.S as number) > (s.P as number),
    },
  ],
  output: "O",
});

const arbInputs = fc.record({
  A: fc.integer({ min: 0, max: 3 }),
  B: fc.integer({ min: 0, max: 3 }),
  C: fc.integer({ min: 0, max: 3 }),
});

describe("causal models", () => {
  it("runs mechanisms in topological order", () => {
    expect(run(arith, { A: 1, B: 2, C: 3 })).toEqual({ A: 1, B: 2, C: 3, S: 3, P: 6, O: false });
    expect(arith.order.indexOf("S")).toBeLessThan(arith.order.indexOf("O"));
    expect(arith.inputs).toEqual(["A", "B", "C"]);
  });

  it("interchange: the moved variable takes its source value, its descendants are recomputed, its ancestors stay", () => {
    const base = { A: 1, B: 2, C: 3 }; // S = 3, P = 6, O = false
    const source = { A: 3, B: 3, C: 0 }; // S = 6, P = 0
    const cf = interchange(arith, base, [{ variables: ["S"], source }]);
    expect(cf).toEqual({ A: 1, B: 2, C: 3, S: 6, P: 6, O: false });
    // multi-source: S from one source, P from another
    const cf2 = interchange(arith, base, [
      { variables: ["S"], source },
      { variables: ["P"], source: { A: 0, B: 0, C: 0 } },
    ]);
    expect(cf2.O).toBe(true);
  });

  it("an interchange from the base itself changes nothing; holding a variable at its own value changes nothing (fast-check)", () => {
    fc.assert(
      fc.property(arbInputs, fc.subarray(["S", "P", "O"], { minLength: 1 }), (base: Setting, vars) => {
        expect(interchange(arith, base, [{ variables: vars, source: base }])).toEqual(run(arith, base));
        const own = run(arith, base);
        expect(intervene(arith, base, Object.fromEntries(vars.map((v) => [v, own[v]!])))).toEqual(own);
      }),
      { seed: 3, numRuns: 100 },
    );
  });

  it("typed errors name the model, the field and what was expected", () => {
    expect(() =>
      causalModel({
        name: "cyc",
        variables: [
          { name: "X", values: [0], parents: ["Y"], mechanism: () => 0 },
          { name: "Y", values: [0], parents: ["X"], mechanism: () => 0 },
        ],
        output: "X",
      }),
    ).toThrow(/causal model cyc: parents: expected an acyclic graph, found a cycle among X, Y/);
    expect(() =>
      causalModel({
        name: "m",
        variables: [{ name: "X", values: [0], parents: ["Z"], mechanism: () => 0 }],
        output: "X",
      }),
    ).toThrow(/X.parents\[0\]: expected a variable of the model, found "Z"/);
    expect(() => run(arith, { A: 7, B: 0, C: 0 })).toThrow(/inputs.A: expected one of \[0,1,2,3\], found 7/);
    const bad = causalModel({
      name: "bad",
      variables: [
        { name: "X", values: [0, 1], parents: [] },
        { name: "Y", values: [0, 1], parents: ["X"], mechanism: () => 5 },
      ],
      output: "Y",
    });
    expect(() => run(bad, { X: 0 })).toThrow(/Y \(mechanism\): expected one of \[0,1\] or null, found 5/);
  });
});

describe("counterfactual datasets", () => {
  it("are deterministic per seed, label = interchange output, and change the output when required", () => {
    const family = { name: "S", variables: [["S"]] };
    const a = counterfactuals(arith, family, { n: 50, seed: 9 });
    expect(counterfactuals(arith, family, { n: 50, seed: 9 })).toEqual(a);
    expect(counterfactuals(arith, family, { n: 50, seed: 10 })).not.toEqual(a);
    for (const e of a) {
      expect(e.label).toBe(interchange(arith, e.base, [{ variables: ["S"], source: e.sources[0]! }]).O);
      expect(e.baseLabel).toBe(run(arith, e.base).O);
      expect(e.label).not.toBe(e.baseLabel);
    }
  });

  it("a family that cannot change the output is a typed error, not a hang", () => {
    const never = causalModel({
      name: "const",
      variables: [
        { name: "X", values: [0, 1], parents: [] },
        { name: "Y", values: [0], parents: ["X"], mechanism: () => 0 },
      ],
      output: "Y",
    });
    expect(() =>
      counterfactuals(never, { name: "X", variables: [["X"]] }, { n: 1, seed: 0, maxTries: 50 }),
    ).toThrow(/family X: example 0: expected a pair with a defined, changed label within 50 draws/);
  });
});
