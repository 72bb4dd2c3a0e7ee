import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { edgeLayout } from "@patchbay/core/edges";
import { openModel } from "@patchbay/core/runtime";
import { Cause, Effect, Exit, Option } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testdataPath } from "../../../packages/core/src/testing/testdata.ts";
import { runExperiment } from "../run/experiment.ts";
import { loadExperiment } from "../spec/load.ts";
import { type ShardedSpec, shardedScores } from "./sharded.ts";
import { exited, type Proc, redisBin, redisWorld } from "../distributed/test-support.ts";
import { nodePatchingInShards } from "./test-support.ts";

/**
 * Sharded exact, node and path patching on a real redis-server (loopback, no persistence, in a
 * temp folder) with `patchbay worker` child processes: the distributed scores and files are
 * byte-identical to the local run's; a worker SIGKILLed in the middle of a shard, after finishing
 * another, loses nothing: every shard is computed exactly once (counted from the workers' logs),
 * the killed one by another worker, and the cell merges the stored shards without recomputing any.
 */
const world = redisWorld("shards");
const { dir, start } = world;

const SHARDS = 6;
const file = join(dir, "exact.yaml");
writeFileSync(
  file,
  [
    "name: sharded",
    "model: builtin:induction",
    "task: { n: 24 }",
    `method: { _tag: exact, shards: ${SHARDS} }`,
    "evaluation: { spearmanSample: 8 }",
    "",
  ].join("\n"),
);

const json = (folder: string) =>
  readdirSync(folder)
    .filter((f) => f.endsWith(".json"))
    .sort();
const bits = (a: Float64Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const count = (text: string, re: RegExp) => [...text.matchAll(re)].length;

describe.skipIf(redisBin === "")("sharded exact, node and path patching on Redis (BullMQ)", () => {
  beforeAll(world.setup, 15_000);
  afterAll(world.teardown, 30_000);

  it("an exact cell in 6 shards on 2 workers, one SIGKILLed mid-shard: each shard computed once, the cell byte-identical to the local run", async () => {
    const loaded = await Effect.runPromise(loadExperiment(file));
    const local = await Effect.runPromise(runExperiment(loaded, { results: join(dir, "local") }));
    const cellId = local.cells[0]!.cellId;
    expect(json(join(dir, "local", "shards"))).toHaveLength(SHARDS);

    const url = world.url();
    const workers = await world.workers(2, ["--lock-ms", "1500", "--stalled-ms", "500"]);

    // the first worker to start its second shard (one finished) is killed at once, mid-shard;
    // when the cell starts, its shards' files are noted (a recomputed shard is a new file)
    const results = join(dir, "shared");
    let victim: { worker: number; shard: string } | null = null;
    let atCellStart: Map<string, number> | null = null;
    workers.forEach((w, i) => {
      w.child.stderr!.on("data", () => {
        const starts = [...w.out().matchAll(/^start shard ([0-9a-f]{64})/gm)];
        if (victim === null && starts.length >= 2) {
          victim = { worker: i, shard: starts[1]![1]! };
          w.child.kill("SIGKILL");
        }
        if (atCellStart === null && new RegExp(`^start ${cellId}`, "m").test(w.out())) {
          const shards = join(results, "shards");
          atCellStart = new Map(json(shards).map((f) => [f, statSync(join(shards, f)).ino]));
        }
      });
    });

    const run = start(["run", file, "--results", results, "--redis", url, "--timeout", "80", "--json"]);
    expect(await exited(run.child, 90_000), run.out()).toBe(0);
    expect(victim, "a worker was killed mid-shard").not.toBeNull();
    const v = victim as unknown as { worker: number; shard: string };
    expect(workers[v.worker]!.child.signalCode).toBe("SIGKILL");

    // every shard computed exactly once; the killed worker's shard by the other worker
    const logs = workers.map((w) => w.out()).join("\n");
    const ids = json(join(results, "shards")).map((f) => f.replace(/\.json$/, ""));
    expect(ids).toHaveLength(SHARDS);
    for (const id of ids) expect(count(logs, new RegExp(`^done shard ${id}`, "gm")), id).toBe(1);
    expect(count(workers[v.worker]!.out(), /^done shard /gm)).toBeGreaterThanOrEqual(1);
    expect(workers[1 - v.worker]!.out()).toMatch(new RegExp(`^done shard ${v.shard}`, "m"));
    expect(count(logs, /^done shard /gm)).toBe(SHARDS);

    // the cell merged the stored shards: not one was written again once it started
    expect(atCellStart, "the cell started on a worker").not.toBeNull();
    const shardsDir = join(results, "shards");
    expect([...atCellStart!.keys()]).toEqual(json(shardsDir));
    for (const [f, ino] of atCellStart!) expect(statSync(join(shardsDir, f)).ino, f).toBe(ino);

    // and the store is byte-identical to the local run's: the cell, its artifact and every shard
    for (const sub of ["cells", "shards"]) {
      expect(json(join(results, sub))).toEqual(json(join(dir, "local", sub)));
      for (const f of json(join(results, sub)))
        expect(readFileSync(join(results, sub, f)).equals(readFileSync(join(dir, "local", sub, f))), f).toBe(
          true,
        );
    }
    await world.stop([workers[1 - v.worker]!]);
  }, 120_000);

  const models = [
    ["builtin:induction", "builtin:induction"],
    ["tiny-gpt2 fixture", testdataPath("fixtures", "tiny-gpt2")],
  ] as const;

  it.each(models)(
    "node and path patching in shards on %s: distributed scores byte-identical to local",
    async (_, model) => {
      const config = await Effect.runPromise(Effect.scoped(Effect.map(openModel(model), (m) => m.config)));
      const sources = edgeLayout(config).sources.filter((s) => s.name !== "input");
      const base = {
        model,
        task: { kind: "builtin", builtin: "builtin:induction", n: 4, seed: 1, options: {} },
        ablation: "resample",
        metric: "logit-diff",
        granularity: "head",
        runtime: { threads: 1 },
      } as const;
      const specs: ShardedSpec[] = [
        { ...base, method: { _tag: "node-patching" }, shards: 3 },
        {
          ...base,
          method: {
            _tag: "path-patching",
            paths: sources.map((s) => ({ sender: s.name, receivers: ["logits"] })),
          },
          shards: 3,
        },
        { ...base, method: { _tag: "exact" }, shards: 2 },
      ];
      const url = world.url();
      const workers = await world.workers(2);
      const tag = model.startsWith("builtin") ? "induction" : "gpt2";
      try {
        for (const spec of specs) {
          const input = { spec, baseDir: dir };
          const here = await Effect.runPromise(shardedScores(input, { results: join(dir, `${tag}-local`) }));
          const there = await Effect.runPromise(
            shardedScores(input, {
              results: join(dir, `${tag}-shared`),
              redis: { redis: url, timeoutMs: 60_000, pollMs: 200 },
            }),
          );
          expect(here.computed).toBe(spec.shards);
          expect(there.computed, "the queue's workers computed every shard").toBe(0);
          expect(there.shardIds).toEqual(here.shardIds);
          expect(
            here.scores.some((x) => x !== 0),
            spec.method._tag,
          ).toBe(true);
          expect(bits(there.scores).equals(bits(here.scores)), spec.method._tag).toBe(true);
          expect(JSON.stringify(Array.from(there.scores))).toBe(JSON.stringify(Array.from(here.scores)));
        }
      } finally {
        await world.stop(workers);
      }
      // 3 + 3 + 2 shards, each computed once, all by the queue's workers
      expect(count(workers.map((w) => w.out()).join("\n"), /^done shard /gm)).toBe(8);
    },
    120_000,
  );

  it("bad shard specs are typed errors, before anything is queued", async () => {
    const base = nodePatchingInShards;
    const failure = async (spec: ShardedSpec) => {
      const exit = await Effect.runPromiseExit(
        shardedScores(
          { spec, baseDir: dir },
          { results: join(dir, "bad"), redis: { redis: world.url(), timeoutMs: 30_000, pollMs: 200 } },
        ),
      );
      expect(Exit.isFailure(exit)).toBe(true);
      return Exit.isFailure(exit) ? Option.getOrNull(Cause.failureOption(exit.cause)) : null;
    };
    expect(await failure({ ...base, method: { _tag: "acdc" } as never })).toMatchObject({
      _tag: "InputError",
      field: "method",
    });
    expect(await failure({ ...base, shards: 0 })).toMatchObject({ _tag: "InputError", field: "shards" });
    expect(await failure({ ...base, shards: 2.5 })).toMatchObject({ _tag: "InputError", field: "shards" });
    // 9 sources: 10 shards would leave one empty
    expect(await failure({ ...base, shards: 10 })).toMatchObject({ _tag: "InputError", field: "shards" });
    // a path that names no source fails on the worker, typed and not retried
    const [w] = (await world.workers(1)) as [Proc];
    const bad = await failure({
      ...base,
      method: { _tag: "path-patching", paths: [{ sender: "nope", receivers: ["logits"] }] },
      shards: 1,
    });
    expect(bad).toMatchObject({ _tag: "CellFailedError", reason: "failed", cause: { _tag: "InputError" } });
    expect(count(w.out(), /^start shard /gm), "not retried").toBe(1);
    await world.stop([w]);
    // sharding a method that does not shard, in an experiment file, is refused when the file loads
    const eap = join(dir, "eap.yaml");
    writeFileSync(
      eap,
      readFileSync(file, "utf8").replace(`_tag: exact, shards: ${SHARDS}`, "_tag: eap, shards: 2"),
    );
    const loaded = await Effect.runPromiseExit(loadExperiment(eap));
    expect(Exit.isFailure(loaded)).toBe(true);
    expect(JSON.stringify(loaded)).toMatch(/shards/);
  }, 60_000);
});
