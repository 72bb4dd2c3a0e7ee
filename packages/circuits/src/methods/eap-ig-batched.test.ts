import { makeSessionCache, type SessionCache } from "@patchbay/core/runtime";
import { Effect, Either, Schema } from "effect";
import fc from "fast-check";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { IG_CASES, type IgCase } from "./eap-ig-cases.test-support.ts";
import { eapIgInputs, igPacking } from "./eap-ig-inputs.ts";
import { discover, Method, prepareEdges } from "./index.ts";
import type { EdgeSetup } from "./setup.ts";

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
        return yield* f(yield* prepareEdges(cache, m, c.task(m), c.granularity ?? "head"));
      }),
    ),
  );
};

/** Budgets: one row per run, two steps of one example, all steps of two examples, the default. */
const budgets = (setup: EdgeSetup, K: number) => {
  const p = igPacking(setup, K);
  if (p instanceof Error) throw p;
  const { rowFloats: row, exampleFloats: ex } = p;
  return {
    "one row": row + ex,
    "two steps": 2 * row + ex,
    "two examples": 2 * (K * row + ex),
    all: undefined,
  };
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
      expect(r.out.all!.runs).toBe(2);
    });
});

describe("EAP-IG over inputs: the budget", () => {
  it("the scores do not depend on the budget, bit for bit when an example's steps fit one run (fast-check over budgets and steps)", async () => {
    for (const name of ["tiny-gpt2", "tiny-llama"]) {
      const c = IG_CASES.find((x) => x.name === name)!;
      await withSetup(c, (setup) =>
        Effect.promise(() =>
          fc.assert(
            fc.asyncProperty(
              fc.integer({ min: 1, max: 4 }),
              fc.double({ min: 0, max: 1.2, noNaN: true }),
              async (K, u) => {
                const p = igPacking(setup, K);
                if (p instanceof Error) throw p;
                const least = p.rowFloats + p.exampleFloats;
                const most = setup.N * (K * p.rowFloats + p.exampleFloats);
                const maxFloats = Math.round(least + u * (most - least));
                const [all, budgeted] = await Effect.runPromise(
                  Effect.all([eapIgInputs(setup, { steps: K }), eapIgInputs(setup, { steps: K, maxFloats })]),
                );
                const scale = Math.max(1, ...Array.from(all.scores, Math.abs));
                const what = `${name} K=${K} maxFloats=${maxFloats}`;
                expect(worst(budgeted.scores, [...all.scores]), what).toBeLessThanOrEqual(1e-5 * scale);
                // a budget that holds all K steps of an example: the same bits (per-example sums,
                // added in example order, every run padded to the dataset's longest example)
                if (maxFloats >= K * p.rowFloats + p.exampleFloats)
                  expect(
                    Buffer.from(budgeted.scores.buffer).equals(Buffer.from(all.scores.buffer)),
                    what,
                  ).toBe(true);
                expect(budgeted.runs).toBeGreaterThanOrEqual(all.runs);
              },
            ),
            { numRuns: 12, seed: 17 },
          ),
        ),
      );
    }
  });

  it("a budget below one row, or not a finite number, is an InputError naming maxFloats", async () => {
    const c = IG_CASES[1]!;
    const r = await withSetup(c, (setup) =>
      Effect.gen(function* () {
        const p = igPacking(setup, 3);
        if (p instanceof Error) return yield* Effect.die(p);
        const least = p.rowFloats + p.exampleFloats;
        const errors = [];
        for (const maxFloats of [least - 1, 0, -5, Number.NaN, Number.POSITIVE_INFINITY])
          errors.push(yield* Effect.flip(eapIgInputs(setup, { steps: 3, maxFloats })));
        const ok = yield* eapIgInputs(setup, { steps: 3, maxFloats: least });
        // through discover, as an experiment file's method gives it
        const viaDiscover = yield* Effect.flip(
          discover(setup, {
            method: { _tag: "eap-ig-inputs", steps: 3, maxFloats: least - 1 },
            checkSample: 0,
            checkSeed: 0,
          }),
        );
        return { least, errors, ok, viaDiscover };
      }),
    );
    for (const e of r.errors) {
      expect(e._tag).toBe("InputError");
      expect(e.message).toContain("maxFloats");
      expect(e.message).toContain(String(r.least));
    }
    expect(r.ok.scores.length).toBeGreaterThan(0);
    expect(r.viaDiscover._tag).toBe("InputError");
    expect(r.viaDiscover.message).toContain("maxFloats");
  });

  it("the method schema takes maxFloats on eap-ig-inputs and eap only (a positive integer); other methods refuse it", () => {
    const decode = Schema.decodeUnknownEither(Method, { onExcessProperty: "error" });
    const ok = decode({ _tag: "eap-ig-inputs", maxFloats: 1_000_000 });
    expect(Either.isRight(ok) && ok.right._tag === "eap-ig-inputs" && ok.right.maxFloats).toBe(1_000_000);
    const eapOk = decode({ _tag: "eap", maxFloats: 1_000_000 });
    expect(Either.isRight(eapOk) && eapOk.right._tag === "eap" && eapOk.right.maxFloats).toBe(1_000_000);
    for (const bad of [
      { _tag: "eap-ig-inputs", maxFloats: 0 },
      { _tag: "eap-ig-inputs", maxFloats: 2.5 },
      { _tag: "eap-ig-activations", maxFloats: 1_000_000 },
      { _tag: "eap", maxFloats: 0 },
      { _tag: "eap", maxFloats: 2.5 },
      { _tag: "exact", maxFloats: 1_000_000 },
    ])
      expect(Either.isLeft(decode(bad)), JSON.stringify(bad)).toBe(true);
    // without it the decoded method has no such key (experiment cell ids are unchanged)
    const plain = decode({ _tag: "eap-ig-inputs" });
    expect(Either.isRight(plain) && "maxFloats" in plain.right).toBe(false);
    const plainEap = decode({ _tag: "eap" });
    expect(Either.isRight(plainEap) && "maxFloats" in plainEap.right).toBe(false);
  });
});
