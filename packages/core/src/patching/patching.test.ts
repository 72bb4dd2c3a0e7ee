import { Effect } from "effect";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Plan, plan, runPlan } from "../engine/index.ts";
import { gpt2SmallConfig, type Model, type ModelConfig, randomWeights } from "../model/index.ts";
import { arbConfig } from "../reference/arbitraries.ts";
import { referenceForward } from "../reference/index.ts";
import { makeSessionCache, type SessionCache } from "../runtime/index.ts";
import { worstMismatch } from "../testing/compare.ts";
import type { HostTensor } from "../tensor/index.ts";
import { edgeLayout, type EdgeLayout, type Granularity, maskIndex } from "../edges/index.ts";
import { ablatedSources, fullMask } from "./index.ts";
import { sourceOutputs } from "./sources.ts";

const withCache = <A, E>(f: (cache: SessionCache) => Effect.Effect<A, E>) =>
  Effect.runPromise(Effect.scoped(Effect.flatMap(makeSessionCache("edges-test"), f)));

const edgePlan = (granularity: Granularity = "head"): Plan => plan({ edges: { granularity } });
const plainPlan: Plan = plan();

/** Two clean and two corrupted sequences of the same length. */
const pairs = (c: ModelConfig, seed: number, n: number) => {
  const seq = (k: number) =>
    Array.from({ length: n }, (_, p) => (seed * (k + 3) + p * (2 * k + 5) + k) % c.vocabSize);
  return { clean: [seq(0), seq(1)], corrupted: [seq(2), seq(3)] };
};

describe("edge layout (docs/methods.md#the-component-graph)", () => {
  it("GPT-2 small: 157 sources, 445 destinations, 32,491 edges", () => {
    const L = 12;
    const H = 12;
    const layout = edgeLayout(gpt2SmallConfig);
    expect(layout.sources.length).toBe(1 + L * (H + 1));
    expect(layout.destinations.length).toBe(L * (3 * H + 1) + 1);
    let formula = 1 + L * (H + 1);
    for (let l = 0; l < L; l++) formula += 3 * H * (1 + l * (H + 1)) + (1 + l * (H + 1) + H);
    expect(formula).toBe(32_491);
    expect(layout.edges.length).toBe(formula);
    expect(layout.edges[0]!.name).toBe("input->a0.h0<q>");
    expect(layout.edges.some((e) => e.name === "a0.h1->a3.h2<k>")).toBe(true);
    expect(layout.edges.some((e) => e.name === "m11->logits")).toBe(true);
    expect(layout.edges.some((e) => e.name === "a3.h0->m3")).toBe(true);
  });

  it("parallel residual: m{l} reads no head of its own layer; GQA shares k/v destinations", () => {
    const c: ModelConfig = { ...gpt2SmallConfig, nLayers: 2, nHeads: 4, nKvHeads: 2, parallelResidual: true };
    const layout = edgeLayout(c);
    const names = new Set(layout.edges.map((e) => e.name));
    expect(names.has("a1.h0->m1")).toBe(false);
    expect(names.has("a0.h0->m1")).toBe(true);
    expect(names.has("a0.h3->a1.kv1<k>")).toBe(true);
    expect(layout.destinations.filter((d) => d.layer === 1 && d.kind === "k").length).toBe(2);
    expect(layout.destinations.filter((d) => d.layer === 1 && d.kind === "q").length).toBe(4);
  });
});

/** A GPT-2-style model small enough to reason about: 2 heads of 4, d_model 8, MLP 16, vocab 20. */
const tiny = (nLayers: number): ModelConfig => ({
  ...gpt2SmallConfig,
  nLayers,
  nHeads: 2,
  nKvHeads: 2,
  dHead: 4,
  dModel: 8,
  dMlp: 16,
  vocabSize: 20,
  nCtx: 8,
});

/** Run the edge plan with one mask per example row. */
const runEdges = (
  cache: SessionCache,
  m: Model,
  layout: EdgeLayout,
  seqs: number[][],
  mask: HostTensor,
  ablated: HostTensor,
) => runPlan(cache, m, edgePlan(layout.granularity), seqs, { edges: { mask, ablated } });

describe("edge-masked execution", () => {
  it("an all-ones mask reproduces the clean run and an all-zeros mask the corrupted run", async () => {
    await fc.assert(
      fc.asyncProperty(
        arbConfig(),
        fc.constantFrom("head" as const, "head-qkv" as const, "layer" as const),
        fc.nat(500),
        async (c, gran, seed) => {
          const m = { config: c, weights: randomWeights(c, seed) };
          const { clean, corrupted } = pairs(c, seed, Math.min(5, c.nCtx));
          const layout = edgeLayout(c, gran);
          await withCache((cache) =>
            Effect.gen(function* () {
              const plainClean = yield* runPlan(cache, m, plainPlan, clean);
              const plainCorrupt = yield* runPlan(cache, m, plainPlan, corrupted);
              const ablated = yield* ablatedSources(cache, m, layout, "resample", clean, { corrupted });
              const ones = yield* runEdges(cache, m, layout, clean, fullMask(layout, 2, 1), ablated);
              const zeros = yield* runEdges(cache, m, layout, clean, fullMask(layout, 2, 0), ablated);
              // float32 reordering only: the per-head path sums in another order than the fused one
              expect(worstMismatch(ones.logits!.data, plainClean.logits!.data, 1e-4, 1e-4)).toBeNull();
              expect(worstMismatch(zeros.logits!.data, plainCorrupt.logits!.data, 1e-4, 1e-3)).toBeNull();
            }),
          );
        },
      ),
      { numRuns: 12, seed: 7 },
    );
  });

  it("one ablated edge equals patching its destination's input by hand (float64 reference)", async () => {
    await fc.assert(
      fc.asyncProperty(arbConfig(), fc.nat(), fc.nat(500), async (c, pick, seed) => {
        const w = randomWeights(c, seed);
        const m = { config: c, weights: w };
        const { clean, corrupted } = pairs(c, seed, Math.min(4, c.nCtx));
        const layout = edgeLayout(c);
        // edges into the MLPs and the logits: the reference can hook those inputs itself
        const candidates = layout.edges.filter((e) => {
          const k = layout.destinations[e.destination]!.kind;
          return k === "mlp" || k === "logits";
        });
        const e = candidates[pick % candidates.length]!;
        const src = layout.sources[e.source]!;
        const dst = layout.destinations[e.destination]!;
        // z_u from the float64 reference on both inputs
        const zOf = (seqs: number[][]): Float64Array => {
          const site =
            src.kind === "input"
              ? "blocks.0.resid_pre"
              : src.kind === "mlp"
                ? `blocks.${src.layer}.mlp_out`
                : `blocks.${src.layer}.attn.result`;
          const x = referenceForward(c, w, seqs, { sites: [site] }).sites.get(site)!;
          if (src.kind !== "head") return x.data;
          const [B, P, H, d] = x.shape as [number, number, number, number];
          const out = new Float64Array(B * P * d);
          for (let i = 0; i < B * P; i++)
            for (let j = 0; j < d; j++) out[i * d + j] = x.data[(i * H + src.head!) * d + j]!;
          return out;
        };
        const zc = zOf(clean);
        const zx = zOf(corrupted);
        const target =
          dst.kind === "logits" ? `blocks.${c.nLayers - 1}.resid_post` : `blocks.${dst.layer}.mlp_in`;
        const expected = referenceForward(c, w, clean, {
          hooks: (site, v) => (site === target ? v.map((x, i) => x - (zc[i]! - zx[i]!)) : undefined),
        }).logits;
        await withCache((cache) =>
          Effect.gen(function* () {
            const ablated = yield* ablatedSources(cache, m, layout, "resample", clean, { corrupted });
            const mask = fullMask(layout, 2, 1);
            for (let b = 0; b < 2; b++)
              mask.data[b * layout.sources.length * layout.destinations.length + maskIndex(layout, e)] = 0;
            const r = yield* runEdges(cache, m, layout, clean, mask, ablated);
            expect(worstMismatch(r.logits!.data, expected.data, 1e-4, 1e-4), e.name).toBeNull();
          }),
        );
      }),
      { numRuns: 12, seed: 11 },
    );
  });

  it("an ablated edge into a head's q/k/v equals replacing that head's input with the engine", async () => {
    await fc.assert(
      fc.asyncProperty(arbConfig({ maxLayers: 2 }), fc.nat(), fc.nat(500), async (c, pick, seed) => {
        const m = { config: c, weights: randomWeights(c, seed) };
        const { clean, corrupted } = pairs(c, seed, Math.min(4, c.nCtx));
        const layout = edgeLayout(c);
        const candidates = layout.edges.filter((e) =>
          ["q", "k", "v"].includes(layout.destinations[e.destination]!.kind),
        );
        const e = candidates[pick % candidates.length]!;
        const dst = layout.destinations[e.destination]!;
        const site = `blocks.${dst.layer}.attn.${dst.kind}_input`;
        await withCache((cache) =>
          Effect.gen(function* () {
            const zc = yield* sourceOutputs(cache, m, layout, clean);
            const zx = yield* sourceOutputs(cache, m, layout, corrupted);
            const inputs = yield* runPlan(cache, m, { ...plainPlan, captures: [site] }, clean);
            const x = inputs.sites.get(site)!; //                                  [b, p, n, d]
            const [B, P, n, d] = x.shape as [number, number, number, number];
            const S = layout.sources.length;
            const patched = new Float32Array(x.data);
            for (let i = 0; i < B * P; i++)
              for (let j = 0; j < d; j++) {
                const z = (i * S + e.source) * d + j;
                patched[(i * n + dst.head!) * d + j]! -= zc.data[z]! - zx.data[z]!;
              }
            const byHand = yield* runPlan(
              cache,
              m,
              { ...plainPlan, interventions: [{ _tag: "replace", target: { site, heads: [dst.head!] } }] },
              clean,
              { interventions: [{ value: { data: patched, shape: x.shape } }] },
            );
            const mask = fullMask(layout, B, 1);
            for (let b = 0; b < B; b++)
              mask.data[b * S * layout.destinations.length + maskIndex(layout, e)] = 0;
            const r = yield* runEdges(cache, m, layout, clean, mask, zx);
            expect(worstMismatch(r.logits!.data, byHand.logits!.data, 1e-4, 1e-4), e.name).toBeNull();
          }),
        );
      }),
      { numRuns: 12, seed: 13 },
    );
  });

  it("masks are per example row: a batch of masks equals separate runs", async () => {
    const c = tiny(2);
    const m = { config: c, weights: randomWeights(c, 3) };
    const layout = edgeLayout(c);
    const { clean, corrupted } = pairs(c, 3, 6);
    await withCache((cache) =>
      Effect.gen(function* () {
        const ablated = yield* ablatedSources(cache, m, layout, "resample", clean, { corrupted });
        const mask = fullMask(layout, 2, 1);
        const per = layout.sources.length * layout.destinations.length;
        for (let i = 0; i < per; i++) mask.data[per + i] = (i * 7919) % 3 === 0 ? 0.25 : 1; // row 1 only
        const both = yield* runEdges(cache, m, layout, clean, mask, ablated);
        const row = (b: number, t: HostTensor) => ({
          data: t.data.slice((b * t.data.length) / 2, ((b + 1) * t.data.length) / 2),
          shape: [1, ...t.shape.slice(1)],
        });
        for (const b of [0, 1]) {
          const one = yield* runEdges(cache, m, layout, [clean[b]!], row(b, mask), row(b, ablated));
          const V = c.vocabSize * 6;
          expect(
            worstMismatch(both.logits!.data.subarray(b * V, (b + 1) * V), one.logits!.data, 1e-5, 1e-5),
          ).toBeNull();
        }
      }),
    );
  });

  it("zero and mean ablations: z′ = 0 and the dataset means", async () => {
    const c = tiny(1);
    const m = { config: c, weights: randomWeights(c, 5) };
    const layout = edgeLayout(c);
    const { clean, corrupted } = pairs(c, 5, 4);
    await withCache((cache) =>
      Effect.gen(function* () {
        const zero = yield* ablatedSources(cache, m, layout, "zero", clean);
        expect(zero.data.every((x) => x === 0)).toBe(true);
        const reference = [...clean, ...corrupted];
        const z = yield* sourceOutputs(cache, m, layout, reference);
        const mean = yield* ablatedSources(cache, m, layout, "mean", clean, { reference });
        const posMean = yield* ablatedSources(cache, m, layout, "mean-positional", clean, { reference });
        const [N, P, S, d] = z.shape as [number, number, number, number];
        for (let s = 0; s < S; s++)
          for (let j = 0; j < d; j++) {
            let pooled = 0;
            for (let p = 0; p < P; p++) {
              let atP = 0;
              for (let b = 0; b < N; b++) atP += z.data[((b * P + p) * S + s) * d + j]!;
              pooled += atP;
              expect(posMean.data[((1 * P + p) * S + s) * d + j]).toBeCloseTo(atP / N, 5);
            }
            expect(mean.data[((0 * P + 2) * S + s) * d + j]).toBeCloseTo(pooled / (N * P), 5);
          }
      }),
    );
  });

  it("bad input: mask shape, mask values, resample lengths", async () => {
    const c = tiny(1);
    const m = { config: c, weights: randomWeights(c, 5) };
    const layout = edgeLayout(c);
    const { clean, corrupted } = pairs(c, 5, 4);
    await withCache((cache) =>
      Effect.gen(function* () {
        const ablated = yield* ablatedSources(cache, m, layout, "resample", clean, { corrupted });
        const wrongShape = yield* Effect.flip(
          runEdges(cache, m, layout, clean, { data: new Float32Array(3), shape: [3] }, ablated),
        );
        expect(wrongShape.message).toMatch(/values\.edges\.mask.*\[2, 4, 8\]/);
        const bad = fullMask(layout, 2, 1);
        bad.data[maskIndex(layout, layout.edges[3]!)] = 1.5;
        const outOfRange = yield* Effect.flip(runEdges(cache, m, layout, clean, bad, ablated));
        expect(outOfRange.message).toContain(layout.edges[3]!.name);
        expect(outOfRange.message).toContain("[0, 1]");
        const lengths = yield* Effect.flip(
          ablatedSources(cache, m, layout, "resample", clean, { corrupted: [corrupted[0]!, [1, 2]] }),
        );
        expect(lengths.message).toMatch(/corrupted\[1\].*length 4/);
        const noEdges = yield* Effect.flip(
          runPlan(
            cache,
            m,
            { ...plainPlan, metric: { kind: "prob" }, gradients: [{ _tag: "edges", param: "mask" }] },
            clean,
          ),
        );
        expect(noEdges.message).toContain("edges");
      }),
    );
  });
});
