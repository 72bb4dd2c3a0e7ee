import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { referenceForward } from "@patchbay/core/reference";
import { validateWeights } from "@patchbay/core/weights";
import { craft } from "./craft.ts";

/**
 * The MLP primitives compute their tables exactly (float64 reference): for random tables over
 * tokens × positions, the logits at (token t, position p) are the one-hot of f(t, p) (or all
 * zeros for none), up to rounding.
 */
const V = 6;
const P = 5;
const outcome = fc.option(fc.integer({ min: 0, max: 3 }), { nil: null });
const table = fc.array(fc.array(outcome, { minLength: P, maxLength: P }), { minLength: V, maxLength: V });

const logitsAt = (m: ReturnType<ReturnType<typeof craft>["build"]>) => {
  // every token at every position: sequences [t, t, …, t]
  const seqs = Array.from({ length: V }, (_, t) => Array.from({ length: P }, () => t));
  const out = referenceForward(m.config, m.weights, seqs).logits;
  return (t: number, p: number) => [...out.data.slice((t * P + p) * V, (t * P + p + 1) * V)];
};
const expectTable = (got: (t: number, p: number) => number[], f: (t: number, p: number) => number | null) => {
  for (let t = 0; t < V; t++)
    for (let p = 0; p < P; p++) {
      const want = f(t, p);
      // Weights are stored as float32 (relative rounding 6e-8) and a discretise step is a pair of
      // ReLUs with slopes up to ~1/gap (inputs 1/32 apart), so exact tables hold to ~1e-6, not to
      // float64 rounding: 1e-5 leaves margin while any wrong table entry is off by 1.
      for (const [i, x] of got(t, p).entries()) expect(Math.abs(x - (i === want ? 1 : 0))).toBeLessThan(1e-5);
    }
};

describe("craft: MLP primitives are exact", () => {
  it("discretise: a numerical input gated by a categorical one", () => {
    fc.assert(
      fc.property(
        table,
        fc
          .uniqueArray(fc.integer({ min: -64, max: 64 }), { minLength: V, maxLength: V })
          .map((a) => a.map((i) => i / 32)),
        (f, xs) => {
          const k = craft({ name: "t", vocabSize: V, nCtx: P, nLayers: 1, nHeads: 1 });
          const x = k.numerical("x");
          const pos = k.categorical("pos", P);
          const out = k.categorical("out", 4);
          k.embedTokens(x, (t) => xs[t]!);
          k.embedPositions(pos);
          k.discretise(0, {
            input: x,
            gate: pos,
            output: out,
            points: (g) => xs.map((v, t) => [v, f[t]![g]!] as const),
          });
          k.unembed(out, (i) => i, 1);
          const m = k.build();
          validateWeights(m.config, m.weights, "craft");
          expectTable(logitsAt(m), (t, p) => f[t]![p]!);
        },
      ),
      { numRuns: 30, seed: 42 },
    );
  });

  it("map and sequenceMap over categorical inputs", () => {
    fc.assert(
      fc.property(table, fc.array(outcome, { minLength: V, maxLength: V }), (f, g) => {
        const k = craft({ name: "t", vocabSize: V, nCtx: P, nLayers: 1, nHeads: 1 });
        const tok = k.categorical("tok", V);
        const pos = k.categorical("pos", P);
        const a = k.categorical("a", 4);
        const b = k.categorical("b", 4);
        k.embedTokens(tok);
        k.embedPositions(pos);
        k.sequenceMap(0, tok, pos, a, (t, p) => f[t]![p]!);
        k.map(0, tok, b, (t) => g[t]!);
        k.unembed(a, (i) => i, 1);
        const m = k.build();
        expectTable(logitsAt(m), (t, p) => f[t]![p]!);
        const k2 = craft({ name: "t", vocabSize: V, nCtx: P, nLayers: 1, nHeads: 1 });
        const tok2 = k2.categorical("tok", V);
        const b2 = k2.categorical("b", 4);
        k2.embedTokens(tok2);
        k2.map(0, tok2, b2, (t) => g[t]!);
        k2.unembed(b2, (i) => i, 1);
        expectTable(logitsAt(k2.build()), (t) => g[t]!);
      }),
      { numRuns: 30, seed: 43 },
    );
  });
});
