import type { InputError } from "@patchbay/core/errors";
import { makeSessionCache, type SessionCache } from "@patchbay/core/runtime";
import { type ModelConfig, mulberry32, randomWeights, type Weights } from "@patchbay/core/model";
import { referenceForward } from "@patchbay/core/reference";
import { inductionModel, inductionTask } from "@patchbay/zoo";
import { Effect, Schema, type Scope } from "effect";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { arbConfig } from "../../../core/src/reference/arbitraries.ts";
import { directLogitAttribution } from "./dla.ts";
import { type DlaData, DlaSpec } from "./spec.ts";

/**
 * Direct logit attribution against independent computations: for norm-free models the terms sum
 * exactly to the logit difference and each head's term equals the change of the float64
 * reference's logit difference when that head's result is removed from the final residual stream
 * (the logits are linear there); for normed models the sum is exact with the run's scale
 * (by construction), and each head's term matches a float64 recomputation from the reference's
 * own captures; neurons sum to their layer; the compiled induction head carries the logit diff.
 */
const run = <A, E>(name: string, f: (cache: SessionCache) => Effect.Effect<A, E, Scope.Scope>) =>
  Effect.runPromise(Effect.scoped(Effect.flatMap(makeSessionCache(name), f)));
/** Every term; neurons where the model has MLPs (an attention-only model's neurons are refused). */
const all = (c: { readonly dMlp: number | null }) =>
  Schema.decodeUnknownSync(DlaSpec)({ neurons: c.dMlp !== null });

/** Two prompts of different lengths (the batch is padded), two metric slots each. */
const randomData = (c: ModelConfig, seed: number): DlaData => {
  const r = mulberry32(seed);
  const tok = () => Math.floor(r() * c.vocabSize);
  const prompts = [5, 7].map((n) => Array.from({ length: n }, tok));
  return {
    prompts,
    positions: prompts.map((p) => [p.length - 1, 1]),
    answers: prompts.map(() => [tok(), tok()]),
    wrong: prompts.map(() => [tok(), tok()]),
  };
};

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

/** The reference logit difference of one prompt at one slot, with an optional edit of the final resid_post. */
const refLogitDiff = (
  c: ModelConfig,
  w: Weights,
  ids: readonly number[],
  p: number,
  a: number,
  wr: number,
  edit?: (v: Float64Array) => Float64Array,
) => {
  const last = `blocks.${c.nLayers - 1}.resid_post`;
  const { logits } = referenceForward(c, w, [ids], {
    hooks: (s, v) => (s === last && edit !== undefined ? edit(v) : undefined),
  });
  const V = c.vocabSize;
  return logits.data[p * V + a]! - logits.data[p * V + wr]!;
};

describe("DLA on norm-free models", () => {
  it("terms sum exactly to the logit difference; each head = removing its result downstream (reference)", async () => {
    let slots = 0;
    await fc.assert(
      fc.asyncProperty(
        arbConfig({ norm: "none", maxLayers: 2, gemma2Knobs: false }),
        fc.nat(1000),
        async (c, seed) => {
          const w = randomWeights(c, seed);
          const data = randomData(c, seed + 7);
          const r = await run(`dla:${c.name}`, (cache) =>
            directLogitAttribution(cache, { config: c, weights: w }, all(c), data),
          );
          expect(r.norm).toBe("none");
          data.prompts.forEach((ids, b) => {
            const ref = referenceForward(c, w, [ids], {
              sites: Array.from({ length: c.nLayers }, (_, l) => `blocks.${l}.attn.result`),
            });
            r.examples[b]!.slots.forEach((s, j) => {
              const p = data.positions[b]![j]!;
              const ld = refLogitDiff(c, w, ids, p, s.answer, s.wrong!);
              const tol = 1e-4 * (1 + Math.abs(ld));
              expect(s.logitDiff).toBeCloseTo(ld, 4);
              expect(Math.abs(s.total - s.logitDiff)).toBeLessThan(tol);
              const recomputed =
                s.embed +
                s.posEmbed +
                sum(s.heads!.flat()) +
                sum(s.attnBias) +
                sum(s.mlps ?? []) +
                s.lnFinalBias +
                s.unembedBias;
              expect(recomputed).toBeCloseTo(s.total, 4);
              // each head: LD − LD(resid_L − result_{l,h} at p), exact because the logits are linear in resid_L
              const d = c.dModel;
              for (let l = 0; l < c.nLayers; l++) {
                const res = ref.sites.get(`blocks.${l}.attn.result`)!.data; // [1, P, H, d]
                for (let h = 0; h < c.nHeads; h++) {
                  const without = refLogitDiff(c, w, ids, p, s.answer, s.wrong!, (v) => {
                    const out = v.slice();
                    for (let i = 0; i < d; i++) out[p * d + i]! -= res[(p * c.nHeads + h) * d + i]!;
                    return out;
                  });
                  expect(s.heads![l]![h]!, `${c.name} L${l}H${h}`).toBeCloseTo(ld - without, 4);
                }
                if (c.dMlp !== null) expect(sum(s.neurons![l]!) + s.mlpBias[l]!).toBeCloseTo(s.mlps![l]!, 4);
              }
              slots++;
            });
          });
          // the mean is over examples of the mean over slots
          const m = sum(r.examples.map((e) => sum(e.slots.map((s) => s.logitDiff)) / e.slots.length)) / 2;
          expect(r.mean.logitDiff).toBeCloseTo(m, 5);
          expect(r.mean.total).toBeCloseTo(m, 3);
        },
      ),
      { numRuns: 10, seed: 21 },
    );
    expect(slots).toBe(40);
  });

  it("builtin induction model: the induction head L1H2 carries the logit difference", async () => {
    const m = inductionModel();
    const task = inductionTask(3, 2);
    const r = await run("dla-induction", (cache) =>
      directLogitAttribution(cache, m, Schema.decodeUnknownSync(DlaSpec)({}), {
        prompts: task.clean,
        positions: task.positions,
        answers: task.answers,
        wrong: task.wrong,
      }),
    );
    const heads = r.mean.heads!;
    console.log(`induction: mean LD ${r.mean.logitDiff.toFixed(4)}, L1H2 ${heads[1]![2]!.toFixed(4)}`);
    expect(r.mean.logitDiff).toBeGreaterThan(5);
    expect(heads[1]![2]!).toBeCloseTo(r.mean.logitDiff, 3);
    for (let l = 0; l < 2; l++)
      for (let h = 0; h < 4; h++)
        if (!(l === 1 && h === 2)) expect(Math.abs(heads[l]![h]!)).toBeLessThan(1e-3);
  });
});

describe("DLA on normed models (frozen final scale)", () => {
  it("sum = logit difference, and each head = a float64 recomputation from the reference's captures", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          arbConfig({ norm: "layernorm", maxLayers: 2, gemma2Knobs: false }),
          arbConfig({ norm: "rmsnorm", maxLayers: 2, gemma2Knobs: false }),
        ),
        fc.nat(1000),
        async (c, seed) => {
          const w = randomWeights(c, seed);
          const data = randomData(c, seed + 3);
          const r = await run(`dla-n:${c.name}`, (cache) =>
            directLogitAttribution(cache, { config: c, weights: w }, all(c), data),
          );
          const d = c.dModel;
          const V = c.vocabSize;
          const WU = w.get("unembed.W_U")!.data;
          const lnW = w.get("ln_final.w")!.data;
          data.prompts.forEach((ids, b) => {
            const ref = referenceForward(c, w, [ids], { sites: ["ln_final.scale", `blocks.0.attn.result`] });
            const scale = ref.sites.get("ln_final.scale")!.data;
            const res = ref.sites.get("blocks.0.attn.result")!.data;
            r.examples[b]!.slots.forEach((s, j) => {
              const p = data.positions[b]![j]!;
              const ld = refLogitDiff(c, w, ids, p, s.answer, s.wrong!);
              expect(s.logitDiff).toBeCloseTo(ld, 3);
              expect(Math.abs(s.total - s.logitDiff)).toBeLessThan(1e-4 * (1 + Math.abs(ld)));
              for (let h = 0; h < c.nHeads; h++) {
                const x = Array.from({ length: d }, (_, i) => res[(p * c.nHeads + h) * d + i]!);
                const mu = c.norm === "layernorm" ? sum(x) / d : 0;
                let want = 0;
                for (let i = 0; i < d; i++)
                  want +=
                    ((x[i]! - mu) / scale[p]!) * lnW[i]! * (WU[i * V + s.answer]! - WU[i * V + s.wrong!]!);
                expect(s.heads![0]![h]!).toBeCloseTo(want, 4);
              }
            });
          });
        },
      ),
      { numRuns: 8, seed: 5 },
    );
  });

  it("bad positions and answers are typed errors naming the field", async () => {
    const m = inductionModel();
    const bad = (data: DlaData) =>
      Effect.runPromise(
        Effect.flip(
          Effect.scoped(
            Effect.flatMap(makeSessionCache("dla-bad"), (cache) =>
              directLogitAttribution(cache, m, all(m.config), data),
            ),
          ),
        ),
      );
    const e1 = await bad({ prompts: [[0, 1, 2]], positions: [[3]], answers: [[1]] });
    expect((e1 as InputError).field).toBe("data.positions[0][0]");
    const e2 = await bad({ prompts: [[0, 1, 2]], positions: [[2]], answers: [[99]] });
    expect((e2 as InputError).field).toBe("data.answers[0][0]");
  });

  it("a final soft-cap, or neurons of a post-norm model, are refused (the terms would not sum)", async () => {
    const m = inductionModel();
    const data = { prompts: [[0, 1, 2]], positions: [[2]], answers: [[1]] };
    const refuse = (config: ModelConfig, neurons: boolean) =>
      Effect.runPromise(
        Effect.flip(
          Effect.scoped(
            Effect.flatMap(makeSessionCache("dla-refused"), (cache) =>
              directLogitAttribution(
                cache,
                { config, weights: randomWeights(config, 1) },
                { heads: true, mlps: true, neurons },
                data,
              ),
            ),
          ),
        ),
      );
    const capped = (await refuse({ ...m.config, finalSoftcap: 30 }, false)) as InputError;
    expect([capped._tag, capped.field]).toEqual(["InputError", "model"]);
    expect(capped.found).toContain("soft-capped at 30");
    const rms: ModelConfig = { ...m.config, norm: "rmsnorm", dMlp: 8, postNorms: true };
    const post = (await refuse(rms, true)) as InputError;
    expect([post._tag, post.field]).toEqual(["InputError", "neurons"]);
  });
});
