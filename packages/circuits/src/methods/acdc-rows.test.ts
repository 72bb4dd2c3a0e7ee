import type { Granularity } from "@patchbay/core/edges";
import type { Model } from "@patchbay/core/model";
import { makeSessionCache } from "@patchbay/core/runtime";
import { loadableFixtures, testdataPath } from "../../../core/src/testing/testdata.ts";
import { loadModelSync } from "@patchbay/core/weights";
import { inductionModel, inductionTask } from "@patchbay/zoo";
import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { type AcdcOptions, type AcdcResult, acdcWith } from "./acdc.ts";
import { downstreamRows, fullGraphRows } from "./acdc-rows.ts";
import { exactScores } from "./exact.ts";
import { maskFromEdges } from "./masks.ts";
import { type EdgeTask, prepareEdges } from "./setup.ts";

/**
 * ACDC with downstream-only rows (every trial runs from its receiver's layer, from the cached clean
 * stream) against ACDC with the full edge-masked graph: the same decisions, the same Δs to float32
 * tolerance, the same counts of masks and serial tests, in every parent order and speculation.
 * τ is the first of the midpoints of the widest gaps between single-edge effects at which no Δ
 * the oracle measures lies within 1e-4 of it (so every decision is forced) and ACDC both keeps
 * and removes edges.
 */
const GRANULARITIES: readonly Granularity[] = ["head", "head-qkv", "layer"];
const RUNS: readonly Omit<AcdcOptions, "tau">[] = [
  { order: "normal", speculate: 1 },
  { order: "normal", speculate: 4 },
  { order: "reverse", speculate: 1 },
  { order: "reverse", speculate: 4 },
  { order: "random", seed: 3, speculate: 1 },
  { order: "random", seed: 3, speculate: 4 },
];
const close = (a: number, b: number) => Math.abs(a - b) <= 1e-5 * (1 + Math.abs(a) + Math.abs(b));

/** Candidate τs: midpoints of the widest gaps between adjacent single-edge effects in their middle 80%. */
const tauCandidates = (scores: Float64Array | Float32Array): number[] => {
  const s = [...scores].sort((a, b) => a - b);
  const gaps: { gap: number; tau: number }[] = [];
  for (let i = Math.floor(s.length / 10); i < Math.floor((9 * s.length) / 10); i++)
    gaps.push({ gap: s[i + 1]! - s[i]!, tau: (s[i]! + s[i + 1]!) / 2 });
  return gaps
    .sort((a, b) => b.gap - a.gap)
    .slice(0, 6)
    .map((g) => g.tau);
};

/** Every oracle Δ is clear of τ (so the decisions are forced) and ACDC keeps some edges, not all. */
const forced = (r: AcdcResult, tau: number) => {
  const kept = r.unpruned.reduce((a, b) => a + b, 0);
  return (
    [...r.deltas].every((x, e) => !r.tested[e] || Math.abs(x - tau) > 1e-4 * (1 + Math.abs(tau))) &&
    kept > 0 &&
    kept < r.unpruned.length
  );
};

const compareOn = (model: Model, task: EdgeTask, granularity: Granularity) =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const cache = yield* makeSessionCache("acdc-rows-test", { threads: 1 });
        const setup = yield* prepareEdges(cache, model, task, granularity);
        let chosen: { tau: number; fulls: AcdcResult[] } | null = null;
        for (const tau of tauCandidates((yield* exactScores(setup)).scores)) {
          const fulls: AcdcResult[] = [];
          for (const run of RUNS) fulls.push(yield* acdcWith(setup, { ...run, tau }, fullGraphRows(setup)));
          if (fulls.every((f) => forced(f, tau))) {
            chosen = { tau, fulls };
            break;
          }
        }
        if (chosen === null) return { out: [], names: [] };
        const out: { opts: string; full: AcdcResult; fast: AcdcResult; tau: number }[] = [];
        for (const [i, run] of RUNS.entries()) {
          const opts = { ...run, tau: chosen.tau };
          const fast = yield* Effect.scoped(
            Effect.flatMap(downstreamRows(setup), (r) => acdcWith(setup, opts, r)),
          );
          out.push({ opts: JSON.stringify(run), full: chosen.fulls[i]!, fast, tau: chosen.tau });
        }
        return { out, names: setup.layout.edges.map((e) => e.name) };
      }),
    ),
  );

const expectSame = (r: Awaited<ReturnType<typeof compareOn>>, label: string) => {
  for (const { opts, full, fast, tau } of r.out) {
    const at = `${label} ${opts}`;
    const margin = Math.min(
      ...[...full.deltas].filter((_, e) => full.tested[e]).map((x) => Math.abs(x - tau)),
    );
    expect(margin, `${at}: a Δ sits on τ`).toBeGreaterThan(1e-4 * (1 + Math.abs(tau)));
    expect([...fast.unpruned], at).toEqual([...full.unpruned]);
    expect([...fast.inGraph], at).toEqual([...full.inGraph]);
    expect([...fast.tested], at).toEqual([...full.tested]);
    full.deltas.forEach((x, e) => {
      expect(close(fast.deltas[e]!, x), `${at} ${r.names[e]}: ${fast.deltas[e]} vs ${x}`).toBe(true);
    });
    expect(close(fast.full, full.full) && close(fast.final, full.final), at).toBe(true);
    expect([fast.forwardPasses, fast.serialTests], at).toEqual([full.forwardPasses, full.serialTests]);
  }
};

describe("downstream rows hold one graph at a time", () => {
  it("the graph from layer L is released when ACDC moves below L, and every session when it ends", async () => {
    const r = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const cache = yield* makeSessionCache("acdc-rows-sessions", { threads: 1 });
          const task: EdgeTask = { ...inductionTask(0, 2), ablation: "resample", metric: "logit-diff" };
          const setup = yield* prepareEdges(cache, inductionModel(), task);
          const full = [maskFromEdges(setup, new Uint8Array(setup.layout.edges.length).fill(1))];
          const sizes: number[][] = [];
          const opened = yield* Effect.scoped(
            Effect.gen(function* () {
              const rows = yield* downstreamRows(setup);
              for (const layer of [2, 2, 1, 0]) {
                yield* rows.evaluate(layer, full);
                sizes.push(rows.opened.map((c) => c.size()));
              }
              return rows.opened;
            }),
          );
          return { sizes, after: opened.map((c) => c.size()) };
        }),
      ),
    );
    // the clean run's cache (released at once), then one cache per layer reached, one session live
    expect(r.sizes).toEqual([
      [0, 1],
      [0, 1],
      [0, 0, 1],
      [0, 0, 0, 1],
    ]);
    expect(r.after).toEqual([0, 0, 0, 0]); //                    nothing left once the scope closes
  }, 60_000);
});

describe("ACDC with downstream-only rows = ACDC with the full edge-masked graph", () => {
  it("builtin:induction, every granularity, order and speculation", async () => {
    const task: EdgeTask = {
      ...inductionTask(0, 4, { blockLen: 6 }),
      ablation: "resample",
      metric: "logit-diff",
    };
    for (const g of GRANULARITIES) expectSame(await compareOn(inductionModel(), task, g), `induction ${g}`);
  }, 300_000);

  for (const name of loadableFixtures())
    it(`${name}: every granularity, order and speculation (KL)`, async () => {
      const m = loadModelSync(testdataPath("fixtures", name));
      const V = m.config.vocabSize;
      const seq = (k: number, len: number) =>
        Array.from({ length: len }, (_, p) => (k * 11 + p * (2 * k + 3) + 1) % V);
      const clean = [seq(0, 6), seq(1, 6)];
      const task: EdgeTask = {
        clean,
        corrupted: [seq(2, 6), seq(3, 6)],
        ablation: "resample",
        metric: "kl",
        positions: clean.map((s) => [s.length - 1, s.length - 2]),
      };
      for (const g of GRANULARITIES) expectSame(await compareOn(m, task, g), `${name} ${g}`);
    }, 300_000);
});
