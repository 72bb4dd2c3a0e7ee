import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { loadModelSync } from "@patchbay/core/weights";
import { fracPrevsModel } from "./frac-prevs.ts";
import { inductionModel } from "./induction.ts";
import { MAX_SCALE, MAX_SEED } from "./options.ts";
import "./registry/index.ts"; // registers builtin:
import { reverseModel } from "./reverse.ts";

/**
 * Every numeric option of every compiled builtin has a range, checked before anything is built:
 * the builder throws an InputError naming the option, the range and the value; through a
 * `builtin:` spec that becomes a ConfigError naming the spec too. No option value reaches an
 * allocation (`builtin:induction?vocabSize=100000000` used to be a RangeError).
 */

interface Bound {
  readonly option: string;
  readonly min: number;
  readonly max: number;
  readonly integer: boolean;
}

const scale = (option: string): Bound => ({ option, min: 0, max: MAX_SCALE, integer: false });
const seed: Bound = { option: "seed", min: 0, max: MAX_SEED, integer: true };
const int = (option: string, min: number, max: number): Bound => ({ option, min, max, integer: true });

const BUILTINS: Record<string, { build: (o: Record<string, number>) => unknown; bounds: Bound[] }> = {
  induction: {
    build: (o) => inductionModel(o),
    bounds: [int("vocabSize", 4, 512), int("nCtx", 3, 512), scale("attnLogit"), scale("logitScale"), seed],
  },
  reverse: {
    build: (o) => reverseModel(o),
    bounds: [
      int("maxLen", 2, 64),
      int("alphabetSize", 2, 512),
      scale("attnLogit"),
      scale("logitScale"),
      seed,
    ],
  },
  "frac-prevs": {
    build: (o) => fracPrevsModel(o),
    // vocabSize ≥ max(3, bins + 1) = 5 at the default bins = 4
    bounds: [int("vocabSize", 5, 512), int("nCtx", 2, 256), int("bins", 1, 64), scale("logitScale"), seed],
  },
};

const cases = Object.entries(BUILTINS).flatMap(([name, b]) => b.bounds.map((bound) => ({ name, bound })));

/** A value outside the bound: below min, above max, or (integer options) fractional. */
const outside = (b: Bound): fc.Arbitrary<number> =>
  fc.oneof(
    fc.double({ min: -1e12, max: b.min, maxExcluded: true, noNaN: true }).filter((v) => v < b.min),
    fc.double({ min: b.max, max: 1e12, minExcluded: true, noNaN: true }).filter((v) => v > b.max),
    ...(b.integer
      ? [fc.double({ min: b.min, max: b.max, noNaN: true }).filter((v) => !Number.isInteger(v))]
      : []),
  );

const range = (b: Bound) => `${b.integer ? "an integer" : "a finite number"} ≥ ${b.min} and ≤ ${b.max}`;

const failure = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return e as { _tag: string; field: string; expected: string; found: string; file?: string };
  }
  throw new Error("expected a failure");
};

describe("builtin option bounds", () => {
  it("builtin:induction?vocabSize=100000000 is a ConfigError naming the option, the range and the value, at once", () => {
    const t0 = performance.now();
    const e = failure(() => loadModelSync("builtin:induction?vocabSize=100000000"));
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(e._tag).toBe("ConfigError");
    expect(e.file).toBe("builtin:induction?vocabSize=100000000");
    expect(e.field).toBe("vocabSize");
    expect(e.expected).toBe("an integer ≥ 4 and ≤ 512");
    expect(e.found).toBe("100000000");
  });

  it("every numeric option of every builtin: a value outside its range is an InputError from the builder", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...cases).chain((c) => fc.tuple(fc.constant(c), outside(c.bound))),
        ([{ name, bound }, v]) => {
          const e = failure(() => BUILTINS[name]!.build({ [bound.option]: v }));
          expect(e._tag).toBe("InputError");
          expect(e.field).toBe(bound.option);
          expect(e.expected).toBe(range(bound));
          expect(e.found).toBe(String(v));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("… and a ConfigError through the builtin: spec", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...cases).chain((c) => fc.tuple(fc.constant(c), outside(c.bound))),
        ([{ name, bound }, v]) => {
          const e = failure(() => loadModelSync(`builtin:${name}?${bound.option}=${v}`));
          expect(e._tag).toBe("ConfigError");
          expect(e.field).toBe(bound.option);
          expect(e.expected).toBe(range(bound));
        },
      ),
      { numRuns: 60 },
    );
  });

  it("the bounds themselves build (smallest everywhere; largest sizes stay within a few hundred MB)", () => {
    for (const { name, bound } of cases) {
      if (bound.option === "seed" || !bound.integer) {
        for (const v of [bound.min, bound.max])
          expect(() => BUILTINS[name]!.build({ [bound.option]: v })).not.toThrow();
      } else {
        expect(() => BUILTINS[name]!.build({ [bound.option]: bound.min })).not.toThrow();
      }
    }
    const big = reverseModel({ maxLen: 64 });
    const floats = [...big.weights.values()].reduce((a, t) => a + t.data.length, 0);
    expect(floats).toBeLessThan(20e6);
  });
});
