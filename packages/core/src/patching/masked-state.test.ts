import { Effect } from "effect";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type MetricBinding, plan, runPlan } from "../engine/index.ts";
import { type EdgeLayout, edgeLayout, type Granularity } from "../edges/index.ts";
import type { Model } from "../model/index.ts";
import { makeSessionCache, type SessionCache } from "../runtime/index.ts";
import { worstMismatch } from "../testing/compare.ts";
import { testdataPath } from "../testing/testdata.ts";
import { loadModelSync } from "../weights/index.ts";
import { ablatedSources, cleanState, type MaskedState, maskedStart, stepMaskFrom } from "./index.ts";

/**
 * The explorer's clicks: after any sequence of toggles (single edges, every edge into or out of a
 * node, re-toggles as undo/redo do), each step run from its lowest changed layer on the previous
 * step's state equals the full edge-masked graph on the same mask, per example, to 1e-5.
 */
const withCache = <A, E>(f: (cache: SessionCache) => Effect.Effect<A, E>) =>
  Effect.runPromise(Effect.scoped(Effect.flatMap(makeSessionCache("masked-state-test", { threads: 1 }), f)));

const GRANULARITIES: readonly Granularity[] = ["head", "head-qkv", "layer"];

/** The full edge-masked graph on one mask, one row per example: the oracle. */
const fullGraph = (
  cache: SessionCache,
  m: Model,
  layout: EdgeLayout,
  seqs: readonly (readonly number[])[],
  binding: MetricBinding,
  ablated: { data: Float32Array; shape: readonly number[] },
  mask: Float32Array,
) =>
  Effect.gen(function* () {
    const N = seqs.length;
    const S = layout.sources.length;
    const D = layout.destinations.length;
    const masks = new Float32Array(N * S * D);
    for (let r = 0; r < N; r++) masks.set(mask, r * S * D);
    const r = yield* runPlan(
      cache,
      m,
      plan({ edges: { granularity: layout.granularity }, metric: { kind: "logit-diff" }, logits: false }),
      seqs,
      { edges: { mask: { data: masks, shape: [N, S, D] }, ablated }, metric: binding },
    );
    return r.metric!.perExample;
  });

/** A click: one edge, or every edge into (or out of) one node, toggled. */
type Click = { readonly kind: "edge" | "into" | "out"; readonly pick: number };
const arbClicks = fc.array(
  fc.record({ kind: fc.constantFrom<Click["kind"]>("edge", "edge", "into", "out"), pick: fc.nat() }),
  { minLength: 1, maxLength: 6 },
);

/** The edges a click toggles (indices into layout.edges). */
const clicked = (layout: EdgeLayout, click: Click): number[] => {
  const E = layout.edges.length;
  if (click.kind === "edge") return [click.pick % E];
  const ends =
    click.kind === "into"
      ? [...new Set(layout.edges.map((e) => layout.destinations[e.destination]!.node))]
      : [...new Set(layout.edges.map((e) => layout.sources[e.source]!.name))];
  const node = ends[click.pick % ends.length]!;
  return layout.edges.flatMap((e, i) =>
    (click.kind === "into" ? layout.destinations[e.destination]!.node : layout.sources[e.source]!.name) ===
    node
      ? [i]
      : [],
  );
};

/** Apply the clicks in order (each followed by its undo when `undo`), comparing every step with the oracle. */
const replay = (
  m: Model,
  granularity: Granularity,
  start: Uint8Array | null,
  clicks: readonly Click[],
  undo: boolean,
) =>
  withCache((cache) =>
    Effect.gen(function* () {
      const V = m.config.vocabSize;
      const seq = (k: number, len: number) =>
        Array.from({ length: len }, (_, p) => (k * 11 + p * (2 * k + 3) + 1) % V);
      const seqs = [seq(0, 7), seq(1, 5), seq(2, 7)]; // ragged: padding rows too
      const binding: MetricBinding = {
        positions: seqs.map((s) => [s.length - 1]),
        answers: seqs.map((_, b) => [(b * 7 + 1) % V]),
        wrong: seqs.map((_, b) => [(b * 3 + 4) % V]),
      };
      const layout = edgeLayout(m.config, granularity);
      const D = layout.destinations.length;
      const ablated = yield* ablatedSources(cache, m, layout, "resample", seqs, {
        corrupted: seqs.map((s) => [...s].reverse()),
      });
      let state: MaskedState = yield* cleanState(cache, m, layout, seqs, ablated);
      const inGraph = start ?? new Uint8Array(layout.edges.length).fill(1);
      const maskOf = () => {
        const mask = new Float32Array(layout.sources.length * D);
        layout.edges.forEach((e, i) => {
          mask[e.source * D + e.destination] = inGraph[i]!;
        });
        return mask;
      };
      const steps: { layer: number; mismatch: ReturnType<typeof worstMismatch>; moved: boolean }[] = [];
      const step = () =>
        Effect.gen(function* () {
          const mask = maskOf();
          const layer = maskedStart(m.config, layout, state.mask, mask);
          const r = yield* stepMaskFrom(
            cache,
            m,
            layout,
            "logit-diff",
            seqs,
            state,
            ablated,
            binding,
            layer,
            mask,
          );
          const full = yield* fullGraph(cache, m, layout, seqs, binding, ablated, mask);
          steps.push({
            layer,
            mismatch: worstMismatch(r.perExample, full, 1e-5, 1e-5),
            moved: worstMismatch(r.perExample, fullClean, 1e-3) !== null,
          });
          state = r.state;
        });
      const fullClean = yield* fullGraph(cache, m, layout, seqs, binding, ablated, maskOf());
      yield* step(); // the circuit the explorer opens with
      for (const click of clicks) {
        const edges = clicked(layout, click);
        const flip = () => {
          for (const i of edges) inGraph[i] = 1 - inGraph[i]!;
        };
        flip();
        yield* step();
        if (undo) {
          flip();
          yield* step();
          flip(); // redo
          yield* step();
        }
      }
      return steps;
    }),
  );

describe("a click runs from its lowest changed layer on the last state = the full edge-masked graph", () => {
  const fixtures = ["tiny-gpt2", "tiny-llama", "tiny-neox"];
  for (const name of fixtures)
    for (const granularity of GRANULARITIES)
      it(`${name} ${granularity}: random clicks, undo and redo (fast-check)`, async () => {
        const m = loadModelSync(testdataPath("fixtures", name));
        const seen = new Set<number>();
        let moved = false;
        await fc.assert(
          fc.asyncProperty(arbClicks, fc.boolean(), fc.nat(), async (clicks, undo, seed) => {
            // start from a random circuit (as a threshold leaves it), or from the full model
            const E = edgeLayout(m.config, granularity).edges.length;
            const start =
              seed % 3 === 0
                ? null
                : Uint8Array.from({ length: E }, (_, i) => ((i * 7 + seed) % 5 > 0 ? 1 : 0));
            const steps = await replay(m, granularity, start, clicks, undo);
            for (const [i, s] of steps.entries()) {
              expect(s.mismatch, `step ${i} from layer ${s.layer}`).toBeNull();
              seen.add(s.layer);
              moved ||= s.moved;
            }
          }),
          { numRuns: 6, seed: 18 },
        );
        expect(moved, "some click changes the metric").toBe(true);
        expect(seen.size, `start layers seen: ${[...seen]}`).toBeGreaterThan(1);
      }, 300_000);

  it("a mask that differs from the state before the start layer is an InputError naming the edge", async () => {
    const m = loadModelSync(testdataPath("fixtures", "tiny-gpt2"));
    const layout = edgeLayout(m.config);
    const seqs = [[1, 2, 3, 4]];
    const exit = await withCache((cache) =>
      Effect.gen(function* () {
        const ablated = yield* ablatedSources(cache, m, layout, "zero", seqs);
        const state = yield* cleanState(cache, m, layout, seqs, ablated);
        const mask = state.mask.slice();
        const e = layout.edges.find((x) => x.name === "input->a0.h0<k>")!;
        mask[e.source * layout.destinations.length + e.destination] = 0;
        const binding = { positions: [[3]], answers: [[1]], wrong: [[2]] };
        expect(maskedStart(m.config, layout, state.mask, mask)).toBe(0);
        return yield* Effect.either(
          stepMaskFrom(cache, m, layout, "logit-diff", seqs, state, ablated, binding, 1, mask),
        );
      }),
    );
    expect(exit._tag).toBe("Left");
    expect(JSON.stringify(exit)).toContain("input->a0.h0<k>");
  });
});
