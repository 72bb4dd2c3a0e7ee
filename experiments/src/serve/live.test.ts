import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { evaluateMasks, faithfulness, maskFromEdges } from "@patchbay/circuits";
import { testdataPath } from "../../../packages/core/src/testing/testdata.ts";
import { writeTaskFileSync } from "@patchbay/zoo";
import { Effect, Exit, Scope } from "effect";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { SetupSpec } from "../kinds/circuit/cell.ts";
import { evaluateLive, type LiveCell, openLiveCell } from "./live.ts";

/**
 * A click runs the edge-masked model only from the clicked edges' layer, on the state the last
 * click left (live.ts): after any sequence of clicks (edges, every edge of a node, undo/redo as
 * re-toggles), the explorer's metric, faithfulness and per-example values equal a from-scratch
 * run of the whole edge-masked graph on the same circuit (circuits' evaluateMasks), to 1e-5.
 */
const GRANULARITIES = ["head", "head-qkv", "layer"] as const;
const dir = mkdtempSync(join(tmpdir(), "patchbay-live-test-"));

const inductionSpec = (granularity: SetupSpec["granularity"]): SetupSpec => ({
  model: "builtin:induction",
  task: { kind: "builtin", builtin: "induction", n: 6, seed: 0, options: {} },
  ablation: "resample",
  metric: "logit-diff",
  granularity,
  runtime: { threads: 1 },
});

/** A fixture with a 3-example task file (ragged lengths). */
const fixtureSpec = (name: string, granularity: SetupSpec["granularity"]): SetupSpec => {
  const V = 64; // below every fixture's vocabulary
  const seq = (k: number, len: number) =>
    Array.from({ length: len }, (_, p) => (k * 11 + p * (2 * k + 3) + 1) % V);
  const clean = [seq(0, 7), seq(1, 5), seq(2, 7)];
  const file = join(dir, `${name}.jsonl`);
  writeTaskFileSync(file, {
    clean,
    corrupted: clean.map((s) => [...s].reverse()),
    positions: clean.map((s) => [s.length - 1]),
    answers: clean.map((_, b) => [(b * 7 + 1) % V]),
    wrong: clean.map((_, b) => [(b * 3 + 4) % V]),
  });
  return {
    model: testdataPath("fixtures", name),
    task: { kind: "file", file },
    ablation: "resample",
    metric: "logit-diff",
    granularity,
    runtime: { threads: 1 },
  };
};

type Click = { readonly node: boolean; readonly pick: number; readonly undo: boolean };
const arbClicks = fc.array(fc.record({ node: fc.boolean(), pick: fc.nat(), undo: fc.boolean() }), {
  minLength: 1,
  maxLength: 5,
});

/** Every evaluation of the clicks on an open cell against evaluateMasks on the same circuit. */
const replay = (cell: LiveCell, start: Uint8Array, clicks: readonly Click[]) =>
  Effect.gen(function* () {
    const { setup } = cell;
    const { layout } = setup;
    const nodes = [...new Set(layout.edges.map((e) => layout.destinations[e.destination]!.node))];
    let inGraph: Uint8Array = start.slice();
    const history: Uint8Array[] = [];
    const layers: number[] = [];
    const check = () =>
      Effect.gen(function* () {
        const live = yield* evaluateLive(cell, inGraph);
        const full = yield* evaluateMasks(setup, [maskFromEdges(setup, inGraph)]);
        layers.push(live.fromLayer);
        expect(live.metric).toBeCloseTo(full.mean[0]!, 5);
        expect(live.faithfulness).toBeCloseTo(faithfulness(full.mean[0]!, cell.empty, cell.full), 4);
        live.metricPerExample.forEach((x, b) => {
          expect(Math.abs(x - full.perExample[b]!)).toBeLessThanOrEqual(1e-5 + 1e-5 * Math.abs(x));
        });
      });
    yield* check();
    for (const click of clicks) {
      const next = inGraph.slice();
      if (click.node) {
        // a node: every edge into it out, or back in when none is in (as the explorer does)
        const node = nodes[click.pick % nodes.length]!;
        const touching = layout.edges.flatMap((e, i) =>
          layout.destinations[e.destination]!.node === node ? [i] : [],
        );
        const on = touching.some((i) => next[i] === 1) ? 0 : 1;
        for (const i of touching) next[i] = on;
      } else next[click.pick % layout.edges.length] = 1 - next[click.pick % layout.edges.length]!;
      history.push(inGraph);
      inGraph = next;
      yield* check();
      if (click.undo) {
        const redo = inGraph;
        inGraph = history.pop()!;
        yield* check();
        history.push(inGraph);
        inGraph = redo;
        yield* check();
      }
    }
    return layers;
  });

const withCell = <A>(spec: SetupSpec, sessions: number, f: (cell: LiveCell) => Effect.Effect<A, unknown>) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const scope = yield* Scope.make();
      const cell = yield* openLiveCell("test", { spec, baseDir: dir }, scope, sessions);
      const out = yield* Effect.exit(f(cell));
      yield* Scope.close(scope, Exit.void);
      return yield* out;
    }) as Effect.Effect<A>,
  );

describe("live clicks = the whole edge-masked graph on the same circuit", () => {
  const cases = [
    ...GRANULARITIES.map((g) => ({ label: `builtin:induction ${g}`, spec: () => inductionSpec(g) })),
    ...["tiny-gpt2", "tiny-llama", "tiny-neox"].flatMap((name) =>
      GRANULARITIES.map((g) => ({ label: `${name} ${g}`, spec: () => fixtureSpec(name, g) })),
    ),
  ];
  for (const c of cases)
    it(`${c.label}: random clicks, node clicks, undo and redo (fast-check)`, async () => {
      const seen = new Set<number>();
      // two sessions at most: clicks into a third layer evict and recompile
      await withCell(c.spec(), 2, (cell) =>
        Effect.promise(() =>
          fc.assert(
            fc.asyncProperty(arbClicks, fc.nat(), async (clicks, seed) => {
              const E = cell.setup.layout.edges.length;
              const start = Uint8Array.from({ length: E }, (_, i) => ((i * 7 + seed) % 4 > 0 ? 1 : 0));
              const layers = await Effect.runPromise(replay(cell, start, clicks));
              for (const l of layers) seen.add(l);
              expect(cell.sessions.alive().length).toBeLessThanOrEqual(2);
            }),
            { numRuns: 5, seed: 18 },
          ),
        ),
      );
      expect(seen.size, `start layers seen: ${[...seen]}`).toBeGreaterThan(1);
    }, 300_000);
});
