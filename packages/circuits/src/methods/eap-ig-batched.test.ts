import { makeSessionCache, type SessionCache } from "@patchbay/core/runtime";
import { Effect } from "effect";
import fc from "fast-check";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { IG_CASES, type IgCase } from "./eap-ig-cases.ts";
import { eapIgInputs, igPacking } from "./eap-ig-inputs.ts";
import { discover, Method, prepareEdges } from "./index.ts";
import type { EdgeSetup } from "./setup.ts";
import { Schema } from "effect";

/**
 * EAP-IG over inputs, batched (issue 17 §4): the steps of several examples in one run of the fused
 * graph, the embeddings interpolated and the steps summed in the graph. The scores must be the
 * unbatched implementation's (its scores are the golden file, computed before it was replaced) for
 * every budget: one row per run, a few rows, everything in one run.
 */
const GOLDEN: Record<string, number[]> = JSON.parse(
  readFileSync(new URL("./eap-ig-inputs.golden.json", import.meta.url), "utf8"),
);

const withSetup = <A, E>(c: IgCase, f: (setup: EdgeSetup) => Effect.Effect<A, E>) => {
  const m = c.model();
  return Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const cache: SessionCache = yield* makeSessionCache(`eap-ig-batched:${c.name}`, { threads: 1 });
        return yield* f(yield* prepareEdges(cache, m, c.task(m)));
      }),
    ),
  );
};

/** Budgets: one row per run, two steps of one example, all steps of two examples, the default. */
const budgets = (setup: EdgeSetup, K: number) => {
  const p = igPacking(setup, K);
  if (p instanceof Error) throw p;
  const { rowFloats: row, exampleFloats: ex } = p;
  return { "one row": row + ex, "two steps": 2 * row + ex, "two examples": 2 * (K * row + ex), all: undefined };
};

const worst = (a: ArrayLike<number>, b: readonly number[]) => {
  let w = 0;
  for (let i = 0; i < b.length; i++) w = Math.max(w, Math.abs(a[i]! - b[i]!));
  return w;
};

describe("EAP-IG over inputs, batched", () => {
  for (const c of IG_CASES)
    it(`${c.name}: the unbatched scores (golden) for every budget`, async () => {
      const golden = GOLDEN[c.name]!;
      const scale = Math.max(1, ...golden.map(Math.abs));
      const r = await withSetup(c, (setup) =>
        Effect.gen(function* () {
          const out: Record<string, { scores: Float64Array; runs: number; packing: unknown }> = {};
          for (const [name, maxFloats] of Object.entries(budgets(setup, c.steps))) {
            const opts = maxFloats === undefined ? { steps: c.steps } : { steps: c.steps, maxFloats };
            const s = yield* eapIgInputs(setup, opts);
            out[name] = { scores: s.scores, runs: s.runs, packing: igPacking(setup, c.steps, maxFloats) };
          }
          return { out, N: setup.N };
        }),
      );
      expect(golden.some((x) => Math.abs(x) > 1e-3)).toBe(true);
      for (const [name, x] of Object.entries(r.out)) {
        expect(worst(x.scores, golden), `${c.name}, ${name}`).toBeLessThanOrEqual(1e-5 * scale);
      }
      // the budgets do pack differently: K·N runs of one row, …, one run
      expect(r.out["one row"]!.runs).toBe(1 + c.steps * r.N);
      expect(r.out["all"]!.runs).toBe(2);
    });
});
