import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Cause, Effect, Exit, Option } from "effect";
import { describe, expect, it } from "vitest";
import { runExperiment } from "../run/experiment.ts";
import { cellPath } from "../run/store.ts";
import { loadExperiment } from "../spec/load.ts";
import { runShardToStore } from "./run.ts";
import { type ShardedSpec, shardedScores } from "./sharded.ts";
import { shardsDir } from "./store.ts";
import { nodePatchingInShards } from "./test-support.ts";

/**
 * A sharded exact cell run locally (in process, or its shards spread over worker threads): its
 * shards are kept in the store as they finish, a rerun
 * after losing the cell and one shard computes only that shard and writes the same bytes; the
 * errors a bad shard spec gives are typed and name the field.
 */
const dir = mkdtempSync(join(tmpdir(), "patchbay-sharded-"));
const experiment = (method: string) => {
  const file = join(dir, `${method.replace(/\W+/g, "-")}.yaml`);
  writeFileSync(
    file,
    [
      "name: sharded",
      "model: builtin:induction",
      "task: { n: 4 }",
      `method: ${method}`,
      "evaluation: { spearmanSample: 8 }",
      "",
    ].join("\n"),
  );
  return file;
};
const failureOf = <A, E>(exit: Exit.Exit<A, E>) =>
  Exit.isFailure(exit) ? Option.getOrNull(Cause.failureOption(exit.cause)) : null;

describe("sharded exact patching in a local run", () => {
  it("keeps each shard; a rerun computes only what is missing and writes the same bytes", async () => {
    const loaded = await Effect.runPromise(loadExperiment(experiment("{ _tag: exact, shards: 3 }")));
    const results = join(dir, "store");
    const first = await Effect.runPromise(runExperiment(loaded, { results }));
    const cellId = first.cells[0]!.cellId;
    const bytes = readFileSync(cellPath(results, cellId));
    const shards = readdirSync(shardsDir(results)).sort();
    expect(shards).toHaveLength(3);
    const ino = new Map(shards.map((f) => [f, statSync(join(shardsDir(results), f)).ino]));

    rmSync(cellPath(results, cellId));
    rmSync(join(shardsDir(results), shards[1]!));
    const again = await Effect.runPromise(runExperiment(loaded, { results }));
    expect(again.cells[0]!.skipped).toBe(false);
    expect(readFileSync(cellPath(results, cellId)).equals(bytes)).toBe(true);
    expect(readdirSync(shardsDir(results)).sort()).toEqual(shards);
    // the removed shard is back (listed above: written again; the file system may hand its new
    // file the freed inode number, so that is not compared); the others were not rewritten
    for (const f of shards)
      if (f !== shards[1]) expect(statSync(join(shardsDir(results), f)).ino, f).toBe(ino.get(f));

    // on 2 worker threads: the shards spread over both, the same bytes as in process
    const threads = join(dir, "threads");
    const t = await Effect.runPromise(runExperiment(loaded, { results: threads, workers: 2 }));
    expect(t.cells[0]!.cellId).toBe(cellId);
    expect(readFileSync(cellPath(threads, cellId)).equals(bytes)).toBe(true);
    expect(readdirSync(shardsDir(threads)).sort()).toEqual(shards);
    for (const f of shards)
      expect(
        readFileSync(join(shardsDir(threads), f)).equals(readFileSync(join(shardsDir(results), f))),
        f,
      ).toBe(true);

    // the unsharded cell is another cell (shards are part of the spec); its scores agree to rounding
    const plain = await Effect.runPromise(
      runExperiment(await Effect.runPromise(loadExperiment(experiment("{ _tag: exact }"))), { results }),
    );
    expect(plain.cells[0]!.cellId).not.toBe(cellId);
    const scores = (r: unknown) => (r as { edges: { score: number }[] }).edges.map((e) => e.score);
    const a = scores(first.cells[0]!.result);
    const b = scores(plain.cells[0]!.result);
    expect(Math.max(...a.map((x, i) => Math.abs(x - b[i]!)))).toBeLessThan(1e-5);
  }, 120_000);

  it("bad shard specs are typed errors naming the field", async () => {
    // a method that does not shard is refused when the file loads
    const eap = await Effect.runPromiseExit(loadExperiment(experiment("{ _tag: eap, shards: 2 }")));
    expect(Exit.isFailure(eap)).toBe(true);
    expect(JSON.stringify(failureOf(eap))).toMatch(/shards/);
    const zero = await Effect.runPromiseExit(loadExperiment(experiment("{ _tag: exact, shards: 0 }")));
    expect(Exit.isFailure(zero)).toBe(true);
    // more shards than edges (81): an InputError from the cell, naming shards
    const many = await Effect.runPromise(loadExperiment(experiment("{ _tag: exact, shards: 100 }")));
    const exit = await Effect.runPromiseExit(runExperiment(many, { results: join(dir, "many") }));
    expect(failureOf(exit)).toMatchObject({ _tag: "InputError", field: "shards" });

    const spec = nodePatchingInShards;
    const results = join(dir, "bad");
    const run = (s: ShardedSpec) =>
      Effect.runPromiseExit(shardedScores({ spec: s, baseDir: dir }, { results }));
    expect(failureOf(await run({ ...spec, method: { _tag: "acdc" } as never }))).toMatchObject({
      field: "method",
    });
    expect(failureOf(await run({ ...spec, shards: -1 }))).toMatchObject({
      _tag: "InputError",
      field: "shards",
    });
    expect(failureOf(await run({ ...spec, shards: 10 }))).toMatchObject({
      _tag: "InputError",
      field: "shards",
    });
    // a shard whose id does not match its spec, weights and data (changed since it was planned)
    const wrong = await Effect.runPromiseExit(
      runShardToStore({
        spec: { ...spec, kind: "shard", index: 0 },
        baseDir: dir,
        results,
        cellId: "0".repeat(64),
      }),
    );
    expect(failureOf(wrong)).toMatchObject({ _tag: "InputError", field: "shard id" });
  }, 120_000);
});
