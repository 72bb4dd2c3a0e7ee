import { InputError } from "@patchbay/core/errors";
import { makeSessionCache, openModel } from "@patchbay/core/runtime";
import { inductionModel, inductionTask } from "@patchbay/zoo";
import { Effect, Exit } from "effect";
import { describe, expect, it } from "vitest";
import { testdataPath } from "../../../core/src/testing/testdata.ts";
import {
  type EdgeSetup,
  exactScores,
  mergeShards,
  nodePatching,
  type PathSpec,
  type ShardScores,
  pathPatching,
  prepareEdges,
  scoreShard,
  scoreSharded,
  shardRange,
} from "./index.ts";

/**
 * A sharded run is the merge of shards, each scored by the method's own function on its range.
 * What the distributed run relies on: a shard's float bits depend on the shard alone (its range,
 * hence its batches), not on the process, the session or the order shards are computed in. How
 * units are grouped can move the last bit: on builtin:induction 7 shards differ from the unsharded
 * run by one float32 ulp (1.2e-8) on an edge and a node, while the tiny-gpt2 fixture agrees bit for
 * bit. Hence `shards` is part of a cell's spec, and a local sharded run computes the same shards.
 */
const bits = (a: Float64Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("hex");

const onInduction = <A, E>(f: (setup: EdgeSetup) => Effect.Effect<A, E>) =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const task = {
          ...inductionTask(3, 5, { blockLen: 8 }),
          ablation: "resample",
          metric: "logit-diff",
        } as const;
        const setup = yield* prepareEdges(
          yield* makeSessionCache("shards-test", { threads: 1 }),
          inductionModel({ attnLogit: 4 }),
          task,
        );
        return yield* f(setup);
      }),
    ),
  );

const onGpt2Fixture = <A, E>(f: (setup: EdgeSetup) => Effect.Effect<A, E>) =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const model = yield* openModel(testdataPath("fixtures", "tiny-gpt2"), { threads: 1 });
        const V = model.config.vocabSize;
        const seq = (k: number, len: number) =>
          Array.from({ length: len }, (_, p) => (k * 13 + p * 7 + 3) % V);
        // ragged lengths: shards' batches pad differently
        const clean = [seq(0, 6), seq(1, 4), seq(2, 5)];
        const corrupted = [seq(3, 6), seq(4, 4), seq(5, 5)];
        const setup = yield* prepareEdges(model.sessions, model, {
          clean,
          corrupted,
          ablation: "resample",
          metric: "logit-diff",
          positions: clean.map((s) => [s.length - 1]),
          answers: clean.map(() => [1]),
          wrong: clean.map(() => [2]),
        });
        return yield* f(setup);
      }),
    ),
  );

const paths = (setup: EdgeSetup): PathSpec[] =>
  setup.layout.sources
    .filter((s) => s.name !== "input")
    .flatMap((s) => [{ sender: s.name, receivers: ["logits"] }]);

describe.each([
  ["builtin:induction", onInduction],
  ["tiny-gpt2 fixture", onGpt2Fixture],
] as const)("sharded exact, node and path patching on %s", (_, on) => {
  it("a shard computed alone, in a fresh session and in any order, has the bits it has in the sharded run", async () => {
    const methods = (setup: EdgeSetup) =>
      [{ _tag: "exact" }, { _tag: "node-patching" }, { _tag: "path-patching", paths: paths(setup) }] as const;
    const together = await on((setup) => Effect.forEach(methods(setup), (m) => scoreSharded(setup, m, 7)));
    const alone: ShardScores[][] = [[], [], []];
    for (let i = 6; i >= 0; i--)
      for (let j = 0; j < 3; j++)
        alone[j]![i] = await on((setup) => scoreShard(setup, methods(setup)[j]!, i, 7));
    together.forEach((t, j) => {
      expect(t.scores.every(Number.isFinite)).toBe(true);
      expect(bits(mergeShards(alone[j]!)), `method ${j}`).toBe(bits(t.scores));
    });
  }, 120_000);

  it("every shard count gives the unsharded scores up to float32 rounding", async () => {
    const r = await on((setup) =>
      Effect.gen(function* () {
        const exact = (yield* exactScores(setup)).scores;
        const node = (yield* nodePatching(setup)).effects;
        const ps = paths(setup);
        const path = (yield* pathPatching(setup, ps)).effects;
        const sharded = [];
        for (const k of [1, 2, 3, 7])
          sharded.push({
            k,
            exact: (yield* scoreSharded(setup, { _tag: "exact" }, k)).scores,
            node: (yield* scoreSharded(setup, { _tag: "node-patching" }, k)).scores,
            path: (yield* scoreSharded(setup, { _tag: "path-patching", paths: ps }, k)).scores,
          });
        return { exact, node, path, sharded };
      }),
    );
    expect(r.node.some((x) => x !== 0)).toBe(true);
    for (const s of r.sharded)
      for (const m of ["exact", "node", "path"] as const) {
        const scale = Math.max(1, ...r[m].map(Math.abs));
        const worst = Math.max(...s[m].map((x, i) => Math.abs(x - r[m][i]!)));
        expect(worst, `${m}, ${s.k} shards`).toBeLessThan(1e-6 * scale);
        // one shard is the unsharded run itself
        if (s.k === 1) expect(bits(s[m]), m).toBe(bits(r[m]));
      }
  }, 120_000);
});

describe("bad shard specs are typed errors", () => {
  it("ranges tile the units; an empty shard, a bad index or a method that does not shard is an InputError", async () => {
    for (const [units, of] of [
      [10, 3],
      [81, 7],
      [5, 5],
    ] as const) {
      const ranges = Array.from({ length: of }, (_, i) => shardRange(units, i, of));
      expect(ranges[0]![0]).toBe(0);
      expect(ranges.at(-1)![1]).toBe(units);
      expect(ranges.slice(1).map((r) => r[0])).toEqual(ranges.slice(0, -1).map((r) => r[1]));
      expect(ranges.every(([a, b]) => b - a >= Math.floor(units / of))).toBe(true);
    }
    expect(() => shardRange(3, 0, 4)).toThrow(InputError);
    expect(() => shardRange(3, 0, 0)).toThrow(InputError);
    expect(() => shardRange(3, 0, 1.5)).toThrow(InputError);
    expect(() => shardRange(3, 2, 2)).toThrow(InputError);
    expect(() => shardRange(3, -1, 2)).toThrow(InputError);
    const exits = await onInduction((setup) =>
      Effect.all([
        Effect.exit(scoreShard(setup, { _tag: "acdc" } as never, 0, 2)),
        Effect.exit(scoreShard(setup, { _tag: "exact" }, 2, 2)),
        Effect.exit(scoreShard(setup, { _tag: "node-patching" }, 0, 100)),
        Effect.exit(
          scoreShard(
            setup,
            { _tag: "path-patching", paths: [{ sender: "nope", receivers: ["logits"] }] },
            0,
            1,
          ),
        ),
      ]),
    );
    const fields = exits.map((e) =>
      Exit.isFailure(e) ? (e.cause as { error?: InputError }).error?.field : "ok",
    );
    expect(fields).toEqual(["method", "shard", "shards", "paths[0].sender"]);
    const a = { index: 0, of: 2, units: 3, from: 0, to: 1, scores: Float64Array.of(1), runs: 1 };
    const b = { index: 1, of: 2, units: 3, from: 1, to: 3, scores: Float64Array.of(2, 3), runs: 1 };
    expect([...mergeShards([a, b])]).toEqual([1, 2, 3]);
    expect(() => mergeShards([b, a])).toThrow(InputError);
    expect(() => mergeShards([a])).toThrow(InputError); // one shard of two is not a run
    expect(() => mergeShards([a, { ...b, scores: Float64Array.of(2) }])).toThrow(InputError);
  }, 60_000);
});
