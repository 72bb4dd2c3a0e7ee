import { gpt2SmallConfig, type ModelConfig, randomWeights } from "@patchbay/core/model";
import { makeSessionCache, type SessionCache } from "@patchbay/core/runtime";
import { inductionCircuit, inductionModel, inductionTask } from "@patchbay/zoo";
import { Effect } from "effect";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { rocAuc } from "../evaluate/index.ts";
import { eap, eapIgActivations, eapIgInputs, type EdgeTask, exactScores, prepareEdges } from "./index.ts";

/**
 * EAP-IG and the ablation: over activations the integration baseline is the ablated
 * z′, so every ablation is honoured; over input embeddings only resample is (the path between
 * e′ and e never gives zero or mean source outputs), and the others are refused, not resampled.
 */
const run = <A, E>(f: (cache: SessionCache) => Effect.Effect<A, E>) =>
  Effect.runPromise(Effect.scoped(Effect.flatMap(makeSessionCache("eap-ig-test"), f)));

const close = (a: number, b: number, tol: number) => Math.abs(a - b) <= tol * (1 + Math.abs(b));

const linearTask = (c: ModelConfig, seed: number): Omit<EdgeTask, "ablation"> => {
  const seq = (k: number) =>
    Array.from({ length: 6 }, (_, p) => (seed * 31 + k * 17 + p * (k + 3)) % c.vocabSize);
  const clean = Array.from({ length: 4 }, (_, b) => seq(2 * b));
  const positions = clean.map(() => [4, 5]);
  return {
    clean,
    corrupted: Array.from({ length: 4 }, (_, b) => seq(2 * b + 1)),
    reference: Array.from({ length: 6 }, (_, b) => seq(3 * b + 7)),
    metric: "logit-diff",
    positions,
    answers: positions.map(() => [1, 2]),
    wrong: positions.map(() => [3, 4]),
  };
};

describe("EAP-IG and the ablation", () => {
  it("over activations, zero / mean / mean-positional z′ is the baseline: = exact patching where the metric is linear", async () => {
    // no norm, logit difference: the metric is linear in the mask of every edge into the logits,
    // so the integrated gradient there is exact patching's score, whatever z′ is
    await fc.assert(
      fc.asyncProperty(
        fc.nat(1000),
        fc.constantFrom("zero" as const, "mean" as const, "mean-positional" as const),
        fc.constantFrom("head" as const, "head-qkv" as const, "layer" as const),
        fc.boolean(),
        async (seed, ablation, granularity, gqa) => {
          const c: ModelConfig = {
            ...gpt2SmallConfig,
            name: "linear",
            nLayers: 2,
            nHeads: 2,
            nKvHeads: gqa ? 1 : 2,
            dHead: 4,
            dModel: 12,
            dMlp: 16,
            vocabSize: 24,
            nCtx: 12,
            norm: "none",
          };
          const m = { config: c, weights: randomWeights(c, seed) };
          await run((cache) =>
            Effect.gen(function* () {
              const setup = yield* prepareEdges(cache, m, { ...linearTask(c, seed), ablation }, granularity);
              const resample = yield* prepareEdges(
                cache,
                m,
                { ...linearTask(c, seed), ablation: "resample" },
                granularity,
              );
              const exact = yield* exactScores(setup);
              const ig = yield* eapIgActivations(setup, { steps: 3 });
              const igResample = yield* eapIgActivations(resample, { steps: 3 });
              const intoLogits = setup.layout.edges.filter(
                (x) => setup.layout.destinations[x.destination]!.kind === "logits",
              );
              let differs = false;
              for (const x of intoLogits) {
                expect(
                  close(ig.scores[x.index]!, exact.scores[x.index]!, 1e-3),
                  `${ablation} ${x.name}`,
                ).toBe(true);
                if (!close(ig.scores[x.index]!, igResample.scores[x.index]!, 1e-3)) differs = true;
              }
              expect(differs, "the ablation changes the scores").toBe(true);
            }),
          );
        },
      ),
      { numRuns: 8, seed: 31 },
    );
  });

  it("over inputs, a non-resample ablation is refused with a typed error naming what works", async () => {
    const c: ModelConfig = {
      ...gpt2SmallConfig,
      nLayers: 1,
      nHeads: 2,
      nKvHeads: 2,
      dHead: 4,
      dModel: 8,
      vocabSize: 24,
    };
    const m = { config: c, weights: randomWeights(c, 1) };
    await run((cache) =>
      Effect.gen(function* () {
        for (const ablation of ["zero", "mean", "mean-positional"] as const) {
          const setup = yield* prepareEdges(cache, m, { ...linearTask(c, 1), ablation });
          const err = yield* Effect.flip(eapIgInputs(setup));
          expect(err._tag).toBe("InputError");
          expect(err.message).toContain("eap-ig-inputs");
          expect(err.message).toContain(`"${ablation}"`);
          expect(err.message).toContain("resample");
          expect(err.message).toContain("eap-ig-activations");
        }
      }),
    );
  });

  it("builtin:induction, zero ablation: ROC AUC against the zero-ablation truth (the issue's 0.86)", async () => {
    // builtin:induction is inductionModel() on inductionTask (zoo/registry/builtins.ts); positional
    // edges (input → a0.h1<q|k>) are identical in clean and corrupted, so only zero ablation sees them
    const model = inductionModel();
    const t = inductionTask(0, 16);
    const truthNames = new Set(inductionCircuit({ ablation: "zero" }));
    const r = await run((cache) =>
      Effect.gen(function* () {
        const zero = yield* prepareEdges(cache, model, { ...t, ablation: "zero", metric: "logit-diff" });
        const resample = yield* prepareEdges(cache, model, {
          ...t,
          ablation: "resample",
          metric: "logit-diff",
        });
        const truth = Uint8Array.from(zero.layout.edges, (e) => (truthNames.has(e.name) ? 1 : 0));
        const auc = (s: Float64Array) => rocAuc(Float64Array.from(s, Math.abs), truth);
        return {
          truth,
          activations: auc((yield* eapIgActivations(zero, { steps: 5 })).scores),
          eap: auc((yield* eap(zero)).scores),
          exact: auc((yield* exactScores(zero)).scores),
          // what eap-ig-inputs returned for zero ablation before: the resample scores
          inputsResample: auc((yield* eapIgInputs(resample, { steps: 5 })).scores),
          refused: (yield* Effect.flip(eapIgInputs(zero)))._tag,
        };
      }),
    );
    console.log(
      `builtin:induction, zero ablation, ROC AUC vs the zero truth: eap-ig-activations ${r.activations.toFixed(4)}, eap ${r.eap.toFixed(4)}, exact ${r.exact.toFixed(4)}; resample scores (old eap-ig-inputs) ${r.inputsResample.toFixed(4)}`,
    );
    expect(r.truth.reduce((a, b) => a + b, 0)).toBe(truthNames.size);
    expect(r.activations).toBe(1);
    expect(r.exact).toBe(1);
    expect(r.inputsResample).toBeLessThan(0.9); // blind to the positional edges
    expect(r.refused).toBe("InputError");
  });
});
