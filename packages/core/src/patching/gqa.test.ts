import { Effect } from "effect";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Plan, plan, runPlan } from "../engine/index.ts";
import { gpt2SmallConfig, type ModelConfig, randomWeights, type Weights } from "../model/index.ts";
import { arbConfig } from "../reference/arbitraries.ts";
import { referenceForward } from "../reference/index.ts";
import { makeSessionCache, type SessionCache } from "../runtime/index.ts";
import { worstMismatch } from "../testing/compare.ts";
import type { HostTensor } from "../tensor/index.ts";
import { edgeLayout, maskIndex } from "../edges/index.ts";
import { ablatedSources, fullMask } from "./index.ts";

/**
 * head-qkv granularity under grouped-query attention: a <k>/<v> destination per query head. The
 * oracle is the float64 reference on the *ungrouped* model (W_K, W_V and their biases repeated per
 * query head), which computes the same function and has one k/v input per query head to hook.
 */

const withCache = <A, E>(f: (cache: SessionCache) => Effect.Effect<A, E>) =>
  Effect.runPromise(Effect.scoped(Effect.flatMap(makeSessionCache("gqa-edges-test"), f)));

const arbGqa = arbConfig({ maxLayers: 2 }).filter((c) => c.nKvHeads < c.nHeads);

const edgePlan: Plan = plan({ edges: { granularity: "head-qkv" } });

const pairs = (c: ModelConfig, seed: number, n: number) => {
  const seq = (k: number) =>
    Array.from({ length: n }, (_, p) => (seed * (k + 3) + p * (2 * k + 5) + k) % c.vocabSize);
  return { clean: [seq(0), seq(1)], corrupted: [seq(2), seq(3)] };
};

/** The same model with nKvHeads = nHeads: every key/value weight repeated for its query heads. */
const ungrouped = (c: ModelConfig, w: Weights): { config: ModelConfig; weights: Weights } => {
  const G = c.nHeads / c.nKvHeads;
  const weights = new Map(w);
  for (let l = 0; l < c.nLayers; l++)
    for (const name of ["W_K", "W_V", "b_K", "b_V"]) {
      const t = w.get(`blocks.${l}.attn.${name}`);
      if (t === undefined) continue;
      const per = t.data.length / c.nKvHeads;
      const data = new Float32Array(c.nHeads * per);
      for (let h = 0; h < c.nHeads; h++)
        data.set(t.data.subarray(Math.floor(h / G) * per, (Math.floor(h / G) + 1) * per), h * per);
      weights.set(`blocks.${l}.attn.${name}`, { data, shape: [c.nHeads, ...t.shape.slice(1)] });
    }
  return { config: { ...c, nKvHeads: c.nHeads }, weights };
};

const toF32 = (x: { data: Float64Array }) => Float32Array.from(x.data);

describe("head-qkv granularity (GQA with a <k>/<v> destination per query head)", () => {
  it("layout: MIB names per query head, no kv nodes; without grouping it is the head layout", () => {
    const c: ModelConfig = { ...gpt2SmallConfig, nLayers: 2, nHeads: 4, nKvHeads: 2 };
    const shared = edgeLayout(c, "head");
    const perQuery = edgeLayout(c, "head-qkv");
    const names = new Set(perQuery.edges.map((e) => e.name));
    expect(names.has("a0.h3->a1.h3<k>")).toBe(true);
    expect(names.has("input->a0.h1<v>")).toBe(true);
    expect(perQuery.destinations.some((d) => d.node.includes("kv"))).toBe(false);
    expect(shared.destinations.filter((d) => d.kind === "k").length).toBe(4); // 2 layers × 2 kv heads
    expect(perQuery.destinations.filter((d) => d.kind === "k").length).toBe(8);
    // counts as docs/methods.md#the-component-graph for an ungrouped model with H = 4
    const L = 2;
    const H = 4;
    let formula = 1 + L * (H + 1);
    for (let l = 0; l < L; l++) formula += 3 * H * (1 + l * (H + 1)) + (1 + l * (H + 1) + H);
    expect(perQuery.edges.length).toBe(formula);
    const mha = { ...c, nKvHeads: 4 };
    expect(edgeLayout(mha, "head-qkv").edges.map((e) => e.name)).toEqual(
      edgeLayout(mha, "head").edges.map((e) => e.name),
    );
  });

  it("all-ones mask = the clean run, all-zeros = the corrupted run (float64 reference)", async () => {
    await fc.assert(
      fc.asyncProperty(arbGqa, fc.nat(500), async (c, seed) => {
        const w = randomWeights(c, seed);
        const m = { config: c, weights: w };
        const { clean, corrupted } = pairs(c, seed, Math.min(5, c.nCtx));
        const layout = edgeLayout(c, "head-qkv");
        const refClean = toF32(referenceForward(c, w, clean).logits);
        const refCorrupt = toF32(referenceForward(c, w, corrupted).logits);
        await withCache((cache) =>
          Effect.gen(function* () {
            const ablated = yield* ablatedSources(cache, m, layout, "resample", clean, { corrupted });
            const run = (mask: HostTensor) =>
              runPlan(cache, m, edgePlan, clean, { edges: { mask, ablated } });
            const ones = yield* run(fullMask(layout, 2, 1));
            const zeros = yield* run(fullMask(layout, 2, 0));
            expect(worstMismatch(ones.logits!.data, refClean, 1e-4, 1e-4), c.name).toBeNull();
            expect(worstMismatch(zeros.logits!.data, refCorrupt, 1e-4, 1e-3), c.name).toBeNull();
          }),
        );
      }),
      { numRuns: 10, seed: 23 },
    );
  });

  it("one ablated edge equals patching that query head's own input in the ungrouped reference", async () => {
    await fc.assert(
      fc.asyncProperty(arbGqa, fc.nat(), fc.boolean(), fc.nat(500), async (c, pick, kvOnly, seed) => {
        const w = randomWeights(c, seed);
        const m = { config: c, weights: w };
        const flat = ungrouped(c, w);
        const { clean, corrupted } = pairs(c, seed, Math.min(4, c.nCtx));
        const layout = edgeLayout(c, "head-qkv");
        const candidates = layout.edges.filter(
          (e) => !kvOnly || ["k", "v"].includes(layout.destinations[e.destination]!.kind),
        );
        const e = candidates[pick % candidates.length]!;
        const src = layout.sources[e.source]!;
        const dst = layout.destinations[e.destination]!;
        const srcSite =
          src.kind === "input"
            ? "blocks.0.resid_pre"
            : src.kind === "mlp"
              ? `blocks.${src.layer}.mlp_out`
              : `blocks.${src.layer}.attn.result`;
        /** z_u [B·P, d] from the float64 reference */
        const zOf = (seqs: number[][]): Float64Array => {
          const x = referenceForward(flat.config, flat.weights, seqs, { sites: [srcSite] }).sites.get(
            srcSite,
          )!;
          if (src.kind !== "head") return x.data;
          const H = c.nHeads;
          const d = c.dModel;
          const out = new Float64Array(x.data.length / H);
          for (let i = 0; i < out.length / d; i++)
            out.set(x.data.subarray((i * H + src.head!) * d, (i * H + src.head! + 1) * d), i * d);
          return out;
        };
        const delta = zOf(clean).map((x, i) => x - zOf(corrupted)[i]!);
        const target =
          dst.kind === "logits"
            ? `blocks.${c.nLayers - 1}.resid_post`
            : dst.kind === "mlp"
              ? `blocks.${dst.layer}.mlp_in`
              : `blocks.${dst.layer}.attn.${dst.kind}_input`;
        const expected = referenceForward(flat.config, flat.weights, clean, {
          hooks: (site, v) => {
            if (site !== target) return undefined;
            const out = Float64Array.from(v);
            const d = c.dModel;
            if (dst.head === null) return out.map((x, i) => x - delta[i]!);
            const n = c.nHeads; // q/k/v inputs of the ungrouped model: one slot per query head
            for (let r = 0; r < delta.length / d; r++)
              for (let j = 0; j < d; j++) out[(r * n + dst.head) * d + j]! -= delta[r * d + j]!;
            return out;
          },
        }).logits;
        await withCache((cache) =>
          Effect.gen(function* () {
            const ablated = yield* ablatedSources(cache, m, layout, "resample", clean, { corrupted });
            const mask = fullMask(layout, 2, 1);
            const SD = layout.sources.length * layout.destinations.length;
            for (let b = 0; b < 2; b++) mask.data[b * SD + maskIndex(layout, e)] = 0;
            const r = yield* runPlan(cache, m, edgePlan, clean, { edges: { mask, ablated } });
            expect(
              worstMismatch(r.logits!.data, toF32(expected), 1e-4, 1e-4),
              `${c.name} ${e.name}`,
            ).toBeNull();
          }),
        );
      }),
      { numRuns: 16, seed: 29 },
    );
  });

  it("a head-qkv plan may not capture or change the key/value sites it reshapes", async () => {
    const c: ModelConfig = { ...gpt2SmallConfig, nLayers: 1, nHeads: 4, nKvHeads: 2, dHead: 2, dModel: 8 };
    const m = { config: c, weights: randomWeights(c, 1) };
    await withCache((cache) =>
      Effect.gen(function* () {
        const layout = edgeLayout(c, "head-qkv");
        const ablated = yield* ablatedSources(cache, m, layout, "zero", [[1, 2, 3]]);
        const err = yield* Effect.flip(
          runPlan(cache, m, { ...edgePlan, captures: ["blocks.0.attn.k"] }, [[1, 2, 3]], {
            edges: { mask: fullMask(layout, 1, 1), ablated },
          }),
        );
        expect(err._tag).toBe("InputError");
        expect(err.message).toContain("edges.granularity");
        expect(err.message).toContain("blocks.0.attn.k");
      }),
    );
  });
});
