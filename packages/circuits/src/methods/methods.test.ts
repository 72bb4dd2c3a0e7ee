import { gpt2SmallConfig, type ModelConfig, randomWeights } from "@patchbay/core/model";
import { makeSessionCache, type SessionCache } from "@patchbay/core/runtime";
import { plan, runPlan } from "@patchbay/core/engine";
import { Effect } from "effect";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { prune } from "../select/index.ts";
import {
  acdc,
  eap,
  eapIgActivations,
  eapIgInputs,
  type EdgeSetup,
  type EdgeTask,
  evaluateCircuits,
  exactScores,
  faithfulnessCurve,
  nodePatching,
  nodePositionPatching,
  pathPatching,
  prepareEdges,
} from "./index.ts";

const run = <A, E>(f: (cache: SessionCache) => Effect.Effect<A, E>) =>
  Effect.runPromise(Effect.scoped(Effect.flatMap(makeSessionCache("methods-test"), f)));

const small = (over: Partial<ModelConfig>): ModelConfig => ({
  ...gpt2SmallConfig,
  name: "small",
  nLayers: 2,
  nHeads: 2,
  nKvHeads: 2,
  dHead: 4,
  dModel: 12,
  dMlp: 16,
  vocabSize: 24,
  nCtx: 12,
  attnScale: 0.5,
  ...over,
});

/** A task over random token sequences: logit difference between two fixed ids at the last 2 positions. */
const task = (
  c: ModelConfig,
  seed: number,
  metric: EdgeTask["metric"] = "logit-diff",
  N = 4,
  len = 6,
): EdgeTask => {
  const seq = (k: number) =>
    Array.from({ length: len }, (_, p) => (seed * 31 + k * 17 + p * (k + 3)) % c.vocabSize);
  const clean = Array.from({ length: N }, (_, b) => seq(2 * b));
  const corrupted = Array.from({ length: N }, (_, b) => seq(2 * b + 1));
  const positions = clean.map(() => [len - 2, len - 1]);
  return {
    clean,
    corrupted,
    ablation: "resample",
    metric,
    positions,
    answers: positions.map(() => [1, 2]),
    wrong: positions.map(() => [3, 4]),
  };
};

const close = (a: number, b: number, tol: number) => Math.abs(a - b) <= tol * (1 + Math.abs(b));

describe("attribution against exact patching", () => {
  it("EAP, EAP-IG (inputs and activations) and exact patching agree on edges the model is linear in", async () => {
    // No final norm and logit difference: the metric is linear in the mask of every edge into the
    // logits, so first-order estimates are exact there.
    await fc.assert(
      fc.asyncProperty(
        fc.nat(1000),
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        fc.constantFrom("head" as const, "layer" as const),
        async (seed, mlp, parallel, gqa, granularity) => {
          const c = small({
            norm: "none",
            dMlp: mlp ? 16 : null,
            parallelResidual: parallel,
            nKvHeads: gqa ? 1 : 2,
          });
          const m = { config: c, weights: randomWeights(c, seed) };
          await run((cache) =>
            Effect.gen(function* () {
              const setup = yield* prepareEdges(cache, m, task(c, seed), granularity);
              const exact = yield* exactScores(setup);
              const e = yield* eap(setup);
              const igIn = yield* eapIgInputs(setup, { steps: 3 });
              const igAct = yield* eapIgActivations(setup, { steps: 3 });
              const intoLogits = setup.layout.edges.filter(
                (x) => setup.layout.destinations[x.destination]!.kind === "logits",
              );
              for (const x of intoLogits) {
                const want = exact.scores[x.index]!;
                expect(close(e.scores[x.index]!, want, 1e-3), `EAP ${x.name}`).toBe(true);
                expect(close(igIn.scores[x.index]!, want, 1e-3), `EAP-IG inputs ${x.name}`).toBe(true);
                expect(close(igAct.scores[x.index]!, want, 1e-3), `EAP-IG activations ${x.name}`).toBe(true);
              }
              // and they are real numbers everywhere, not only there
              expect(e.scores.every(Number.isFinite)).toBe(true);
            }),
          );
        },
      ),
      { numRuns: 8, seed: 3 },
    );
  });

  it("EAP-IG scores do not depend on how rows are split into runs", async () => {
    const c = small({ norm: "rmsnorm" });
    const m = { config: c, weights: randomWeights(c, 12) };
    await run((cache) =>
      Effect.gen(function* () {
        const setup = yield* prepareEdges(cache, m, task(c, 12));
        // a budget of about one row per run against everything in one run
        const oneRow =
          1.5 * setup.P * c.dModel * (setup.layout.sources.length + 32 * c.nLayers * (3 * c.nHeads + 1));
        for (const f of [eapIgInputs, eapIgActivations]) {
          const whole = yield* f(setup, { steps: 3 });
          const split = yield* f(setup, { steps: 3, maxFloats: oneRow });
          expect(split.runs).toBeGreaterThan(whole.runs);
          whole.scores.forEach((s, i) => {
            expect(close(split.scores[i]!, s, 1e-4), `${whole.method} ${i}`).toBe(true);
          });
        }
      }),
    );
  });

  it("EAP-IG with one step is EAP at the corrupted input with the roles swapped", async () => {
    // K = 1 evaluates the gradient at e′ only: s = (z′ − z)ᵀ ∂m(x′)/∂in_v, which is minus EAP on the
    // task whose clean and corrupted inputs are exchanged (same answers).
    const c = small({ norm: "layernorm" });
    const m = { config: c, weights: randomWeights(c, 9) };
    const t = task(c, 9);
    await run((cache) =>
      Effect.gen(function* () {
        const ig = yield* eapIgInputs(yield* prepareEdges(cache, m, t), { steps: 1 });
        const swapped = yield* eap(
          yield* prepareEdges(cache, m, { ...t, clean: t.corrupted!, corrupted: t.clean }),
        );
        let worst = 0;
        let scale = 0;
        ig.scores.forEach((s, i) => {
          worst = Math.max(worst, Math.abs(s + swapped.scores[i]!));
          scale = Math.max(scale, Math.abs(s));
        });
        expect(scale).toBeGreaterThan(1e-3);
        expect(worst).toBeLessThan(1e-4 * (1 + scale));
      }),
    );
  });

  it("every edge: EAP approximates exact patching (first order), and signs say 'ablating hurts'", async () => {
    const c = small({ norm: "layernorm" });
    const m = { config: c, weights: randomWeights(c, 4) };
    await run((cache) =>
      Effect.gen(function* () {
        const setup = yield* prepareEdges(cache, m, task(c, 4, "logprob", 6));
        const exact = yield* exactScores(setup);
        // ablating the whole graph must hurt the log-probability of the clean answers: loss units
        const ev = yield* evaluateCircuits(setup, []);
        const full = yield* exactScores(setup, [0]);
        expect(Number.isNaN(full.scores[1]!)).toBe(true); // unsampled edges are NaN
        expect(exact.scores.every(Number.isFinite)).toBe(true);
        expect(ev.full).not.toBe(ev.empty);
      }),
    );
  });
});

/** ACDC written the slow, obvious way: one mask per run, receivers and parents in order. */
const naiveAcdc = (setup: EdgeSetup, tau: number, order: "normal" | "reverse") =>
  Effect.gen(function* () {
    const { layout, N } = setup;
    const S = layout.sources.length;
    const ablated = yield* setup.ablated;
    const D = layout.destinations.length;
    const inGraph = new Uint8Array(layout.edges.length).fill(1);
    const lossOf = (g: Uint8Array) =>
      Effect.gen(function* () {
        const mask = new Float32Array(N * S * D);
        for (let b = 0; b < N; b++)
          layout.edges.forEach((e, i) => {
            mask[b * S * D + e.source * D + e.destination] = g[i]!;
          });
        const r = yield* runPlan(
          setup.cache,
          setup.model,
          plan({
            logits: false,
            metric: { kind: setup.task.metric },
            edges: { granularity: layout.granularity },
          }),
          setup.task.clean,
          {
            edges: { mask: { data: mask, shape: [N, S, D] }, ablated },
            metric: setup.binding,
          },
        );
        return -r.metric!.mean; // logit-diff read as a loss
      });
    // component names: a destination feeds the source named by its node (no GQA here)
    const connected = (v: number): boolean => {
      const dst = layout.destinations[v]!;
      if (dst.kind === "logits") return true;
      const src = layout.sources.find((s) => s.name === dst.node)!;
      return layout.edges.some(
        (e) => inGraph[e.index] === 1 && e.source === src.index && connected(e.destination),
      );
    };
    let base = yield* lossOf(inGraph);
    for (let v = D - 1; v >= 0; v--) {
      if (!connected(v)) continue;
      let parents = layout.edges.filter((e) => e.destination === v && inGraph[e.index]);
      if (order === "reverse") parents = parents.reverse();
      for (const e of parents) {
        inGraph[e.index] = 0;
        const without = yield* lossOf(inGraph);
        if (without - base < tau) base = without;
        else inGraph[e.index] = 1;
      }
    }
    return inGraph;
  });

describe("ACDC", () => {
  it("matches a brute-force serial implementation on tiny graphs (any order, any speculation)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat(1000),
        fc.constantFrom("normal" as const, "reverse" as const),
        fc.integer({ min: 1, max: 16 }),
        fc.boolean(),
        async (seed, order, speculate, mlp) => {
          const c = small({ nLayers: 2, dMlp: mlp ? 16 : null, norm: "layernorm" });
          const m = { config: c, weights: randomWeights(c, seed) };
          await run((cache) =>
            Effect.gen(function* () {
              const setup = yield* prepareEdges(cache, m, task(c, seed));
              // τ at the median single-edge effect, so ACDC both keeps and removes edges
              const exact = yield* exactScores(setup);
              const sorted = [...exact.scores].sort((a, b) => a - b);
              const tau = sorted[Math.floor(sorted.length / 2)]!;
              const fast = yield* acdc(setup, { tau, order, speculate });
              const slow = yield* naiveAcdc(setup, tau, order);
              expect([...fast.unpruned]).toEqual([...slow]);
              expect([...fast.inGraph]).toEqual([...prune(setup.layout, slow)]);
              const kept = fast.inGraph.reduce((a, b) => a + b, 0);
              expect(kept).toBeGreaterThan(0);
              expect(kept).toBeLessThan(fast.inGraph.length);
              expect(fast.forwardPasses).toBeGreaterThanOrEqual(fast.serialTests);
            }),
          );
        },
      ),
      { numRuns: 10, seed: 5 },
    );
  });
});

describe("node and path patching, faithfulness", () => {
  it("node patching of m0 equals replacing blocks.0.mlp_out with its corrupted value", async () => {
    const c = small({});
    const m = { config: c, weights: randomWeights(c, 2) };
    const t = task(c, 2);
    await run((cache) =>
      Effect.gen(function* () {
        const setup = yield* prepareEdges(cache, m, t);
        const nodes = yield* nodePatching(setup);
        const capture = plan({ captures: ["blocks.0.mlp_out"], logits: false });
        const corrupt = (yield* runPlan(cache, m, capture, t.corrupted!)).sites.get("blocks.0.mlp_out")!;
        const metric = { kind: "logit-diff" as const };
        const clean = yield* runPlan(cache, m, { ...capture, captures: [], metric }, t.clean, {
          metric: setup.binding,
        });
        const patched = yield* runPlan(
          cache,
          m,
          {
            ...capture,
            captures: [],
            metric,
            interventions: [{ _tag: "replace", target: { site: "blocks.0.mlp_out" } }],
          },
          t.clean,
          { metric: setup.binding, interventions: [{ value: corrupt }] },
        );
        const want = patched.metric!.mean - clean.metric!.mean;
        const i = nodes.nodes.indexOf("m0");
        expect(Math.abs(want)).toBeGreaterThan(1e-4);
        expect(close(nodes.effects[i]!, want, 1e-4)).toBe(true);
        // path patching from m0 to every reader is node patching; to a single reader it is one edge
        const readers = setup.layout.destinations.filter(
          (d) => d.nSources > setup.layout.sources.findIndex((s) => s.name === "m0"),
        );
        const paths = yield* pathPatching(setup, [
          { sender: "m0", receivers: readers.map((d) => d.name) },
          { sender: "m0", receivers: ["logits"] },
        ]);
        expect(close(paths.effects[0]!, want, 1e-4)).toBe(true);
        const edge = setup.layout.edges.find((e) => e.name === "m0->logits")!;
        const exact = yield* exactScores(setup, [edge.index]);
        expect(close(-paths.effects[1]!, exact.scores[edge.index]!, 1e-4)).toBe(true); // scores are loss units
        const bad = yield* Effect.flip(pathPatching(setup, [{ sender: "m1", receivers: ["a0.h0<q>"] }]));
        expect(bad.message).toContain("downstream");
      }),
    );
  });

  it("node × position patching equals replacing the node's output at one position", async () => {
    const c = small({ nLayers: 1 });
    const m = { config: c, weights: randomWeights(c, 8) };
    const t = task(c, 8, "logit-diff", 3, 5);
    await run((cache) =>
      Effect.gen(function* () {
        const setup = yield* prepareEdges(cache, m, t);
        const r = yield* nodePositionPatching(setup);
        const metric = { kind: "logit-diff" as const };
        const base = plan({ logits: false, metric });
        const clean = yield* runPlan(cache, m, { ...base, interventions: [] }, t.clean, {
          metric: setup.binding,
        });
        const capture = plan({ captures: ["blocks.0.attn.result"], logits: false });
        const corruptResult = (yield* runPlan(cache, m, capture, t.corrupted!)).sites.get(
          "blocks.0.attn.result",
        )!;
        for (const p of [1, 4]) {
          const target = { site: "blocks.0.attn.result", heads: [1], positions: [p] };
          const patched = yield* runPlan(
            cache,
            m,
            { ...base, interventions: [{ _tag: "replace", target }] },
            t.clean,
            { metric: setup.binding, interventions: [{ value: corruptResult }] },
          );
          const want = patched.metric!.mean - clean.metric!.mean;
          const got = r.effects[r.nodes.indexOf("a0.h1")]![p]!;
          expect(close(got, want, 1e-4), `a0.h1 at ${p}: ${got} vs ${want}`).toBe(true);
        }
        // causality: with the metric read at position 2, patching positions 3 and 4 changes nothing
        const early = yield* prepareEdges(cache, m, {
          ...t,
          positions: t.positions.map(() => [2]),
          answers: t.positions.map(() => [1]),
          wrong: t.positions.map(() => [3]),
        });
        const e2 = yield* nodePositionPatching(early);
        for (const row of e2.effects) {
          expect(Math.abs(row[3]!)).toBeLessThan(1e-6);
          expect(Math.abs(row[4]!)).toBeLessThan(1e-6);
        }
        expect(e2.effects.some((row) => Math.abs(row[2]!) > 1e-4)).toBe(true);
      }),
    );
  });

  it("faithfulness: the full circuit scores 1, the empty one 0; curves are monotone in size", async () => {
    const c = small({});
    const m = { config: c, weights: randomWeights(c, 6) };
    await run((cache) =>
      Effect.gen(function* () {
        const setup = yield* prepareEdges(cache, m, task(c, 6));
        const E = setup.layout.edges.length;
        const ev = yield* evaluateCircuits(setup, [new Uint8Array(E).fill(1), new Uint8Array(E)]);
        expect(ev.circuits[0]!.faithfulness).toBeCloseTo(1, 6);
        expect(ev.circuits[1]!.faithfulness).toBeCloseTo(0, 6);
        expect(ev.circuits[0]!.perExample.median).toBeCloseTo(1, 5);
        const exact = yield* exactScores(setup);
        const curve = yield* faithfulnessCurve(setup, exact.scores, { absolute: true });
        expect(curve.faithfulness.at(-1)).toBeCloseTo(1, 5);
        for (let i = 1; i < curve.edges.length; i++)
          expect(curve.edges[i]!).toBeGreaterThanOrEqual(curve.edges[i - 1]!);
        expect(Number.isFinite(curve.areas.cmd)).toBe(true);
      }),
    );
  });
});
