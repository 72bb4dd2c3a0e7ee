import { referenceForward } from "@patchbay/core/reference";
import type { ModelConfig, Weights } from "@patchbay/core/model";
import { Effect, Schema } from "effect";
import { describe, expect, it } from "vitest";
import { saeFromArtifact } from "./artifact.ts";
import { captureActivations } from "./capture.ts";
import { decodeSaeSpec, runSae } from "./run.ts";
import { decodeInto, encodeInto, type Sae } from "./sae.ts";
import { ceLossRecovered, spliceSae } from "./splice.ts";
import { SaeTrainSpec } from "./spec.ts";
import { gpt2Tiny, identitySae, llamaTiny, randomPrompts, tinyModel, withCache } from "./testing.ts";
import { trainSae } from "./train.ts";
import { Either } from "effect";

/**
 * The splice against an independent one-pass computation: the float64 reference forward with a
 * hook that replaces the site by the SAE's reconstruction of the value it sees there (x̂ computed
 * inside the single pass), and a naive log-softmax CE. The engine's splice is two-pass; agreement
 * shows that it is exact.
 */
const referenceCE = (
  c: ModelConfig,
  w: Weights,
  prompts: number[][],
  site: string,
  positions: readonly number[],
  replace: "none" | "zero" | Sae,
): number => {
  const out = referenceForward(c, w, prompts, {
    hooks: (s, v) => {
      if (s !== site || replace === "none") return undefined;
      const d = c.dModel;
      const P = prompts[0]!.length;
      const r = v.slice();
      const f = new Float64Array(replace === "zero" ? 0 : replace.m);
      const xh = new Float64Array(d);
      for (let b = 0; b < prompts.length; b++)
        for (const p of positions) {
          const off = (b * P + p) * d;
          if (replace === "zero") r.fill(0, off, off + d);
          else {
            encodeInto(replace, v, off, f);
            decodeInto(replace, f, xh);
            r.set(xh, off);
          }
        }
      return r;
    },
  });
  const [B, P, V] = out.logits.shape as [number, number, number];
  let s = 0;
  let k = 0;
  for (let b = 0; b < B; b++)
    for (let p = 0; p < P - 1; p++) {
      const row = out.logits.data.subarray((b * P + p) * V, (b * P + p + 1) * V);
      const mx = Math.max(...row);
      const lse = mx + Math.log(row.reduce((a, x) => a + Math.exp(x - mx), 0));
      s += lse - row[prompts[b]![p + 1]!]!;
      k++;
    }
  return s / k;
};

const trainSpec = (s: Record<string, unknown>) => Schema.decodeUnknownSync(SaeTrainSpec)(s);

describe("splicing an SAE into the model", () => {
  for (const c of [llamaTiny, gpt2Tiny]) {
    it(`${c.name}: the identity SAE leaves CE unchanged exactly; CE loss recovered = 1`, async () => {
      const model = tinyModel(c, 3);
      const prompts = randomPrompts(c, 6, 7, 1);
      for (const site of ["blocks.0.resid_post", "blocks.1.hook_mlp_out", "embed"]) {
        const r = await withCache((cache) =>
          spliceSae(cache, model, identitySae(site, c.dModel), "all", prompts, 4),
        );
        expect(r.ceSae, site).toBe(r.ceClean);
        expect(r.ceLossRecovered, site).toBe(1);
        expect(r.ceZero).not.toBe(r.ceClean);
        expect(r.predictions).toBe(6 * 6);
      }
    });

    it(`${c.name}: CE clean / spliced / zero match a one-pass float64 reference (all and some positions)`, async () => {
      const model = tinyModel(c, 5);
      const site = "blocks.0.resid_post";
      const prompts = randomPrompts(c, 8, 6, 2);
      const acts = await withCache((cache) => captureActivations(cache, model, site, "all", prompts, 3));
      const { sae } = trainSae(
        site,
        acts.data,
        acts.n,
        acts.d,
        trainSpec({ dictSize: 24, steps: 150, batchSize: 16, l1: 0.5 }),
      );
      for (const positions of [
        [0, 1, 2, 3, 4, 5],
        [1, 4],
      ]) {
        const r = await withCache((cache) => spliceSae(cache, model, sae, positions, prompts, 3));
        const clean = referenceCE(c, model.weights, prompts, site, positions, "none");
        const spliced = referenceCE(c, model.weights, prompts, site, positions, sae);
        const zero = referenceCE(c, model.weights, prompts, site, positions, "zero");
        expect(Math.abs(r.ceClean - clean)).toBeLessThan(1e-4);
        expect(Math.abs(r.ceSae - spliced)).toBeLessThan(1e-4);
        expect(Math.abs(r.ceZero - zero)).toBeLessThan(1e-4);
        // the SAE is imperfect: the splice moves CE
        expect(Math.abs(r.ceSae - r.ceClean)).toBeGreaterThan(1e-4);
        expect(r.ceLossRecovered).toBeCloseTo((r.ceZero - r.ceSae) / (r.ceZero - r.ceClean), 12);
      }
    });
  }

  it("CE loss recovered as defined, and null when zero ablation changes nothing", () => {
    expect(ceLossRecovered(2, 2.5, 4)).toBeCloseTo(0.75, 15);
    expect(ceLossRecovered(2, 2, 4)).toBe(1);
    expect(ceLossRecovered(2, 4, 4)).toBe(0);
    expect(ceLossRecovered(2, 3, 2)).toBeNull();
  });

  it("runSae end to end: seeded split, plain-JSON result, the artifact reproduces the splice", async () => {
    const model = tinyModel(gpt2Tiny, 9);
    const prompts = randomPrompts(gpt2Tiny, 20, 8, 4);
    const spec = Either.getOrThrow(
      decodeSaeSpec({
        site: "blocks.1.hook_resid_pre",
        chunkSize: 6,
        train: { dictSize: 24, steps: 200, batchSize: 32, l1: 0.3 },
      }),
    );
    const r = await withCache((cache) => runSae(cache, model, spec, { prompts }));
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
    expect(r.site).toBe("blocks.1.resid_pre");
    expect([...r.split.train, ...r.split.eval].sort((a, b) => a - b)).toEqual([...Array(20).keys()]);
    expect(r.split.eval.length).toBe(5);
    expect(r.tokens).toEqual({ train: 15 * 8, eval: 5 * 8 });
    expect(r.history.at(-1)!.loss).toBeLessThan(r.history[0]!.loss);
    expect(r.eval.fvu).toBeGreaterThan(0);
    expect(r.eval.fvu).toBeLessThan(1);
    const sae = Either.getOrThrow(saeFromArtifact(r.sae));
    const again = await withCache((cache) =>
      spliceSae(
        cache,
        model,
        sae,
        "all",
        r.split.eval.map((i) => prompts[i]!),
        6,
      ),
    );
    expect(again).toEqual(r.splice);
    // same spec, same data: the same result
    const r2 = await withCache((cache) => runSae(cache, model, spec, { prompts }));
    expect(r2).toEqual(r);
  });

  it("bad input: unknown or non-token sites, a mismatched SAE, short prompts", async () => {
    const model = tinyModel(llamaTiny, 1);
    const prompts = randomPrompts(llamaTiny, 3, 5, 1);
    const spec = Either.getOrThrow(
      decodeSaeSpec({ site: "blocks.0.attn.hook_pattern", train: { dictSize: 4 } }),
    );
    const e1 = await withCache((cache) => Effect.flip(runSae(cache, model, spec, { prompts })));
    expect(e1._tag).toBe("InputError");
    expect((e1 as { expected: string }).expected).toMatch(/key_pos/);
    const e2 = await withCache((cache) =>
      Effect.flip(spliceSae(cache, model, identitySae("blocks.0.resid_post", 5), "all", prompts)),
    );
    expect((e2 as { field: string }).field).toBe("sae.d");
    const e3 = await withCache((cache) =>
      Effect.flip(spliceSae(cache, model, identitySae("blocks.0.resid_post", 12), "all", [[1, 2], [3]])),
    );
    expect((e3 as { field: string }).field).toBe("prompts[1]");
    const e4 = await withCache((cache) =>
      Effect.flip(captureActivations(cache, model, "blocks.0.resid_post", [0, 7], prompts)),
    );
    expect((e4 as { field: string }).field).toBe("positions[1]");
    expect(Either.isLeft(decodeSaeSpec({ site: "x", train: { dictSize: -1 } }))).toBe(true);
  });
});
