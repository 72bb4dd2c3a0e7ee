import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Effect } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runExperiment } from "../run/experiment.ts";
import { shardedScores } from "../shards/sharded.ts";
import { nodePatchingInShards } from "../shards/test-support.ts";
import { loadExperiment } from "../spec/load.ts";
import { redisExecutor } from "./executor.ts";
import { noWorkerFailure, redisBin, redisWorld } from "./test-support.ts";

/**
 * Cells and shards on a queue no worker serves (real redis-server, no `patchbay worker`): the run
 * fails within `workerGraceMs` with a typed CellFailedError "no-worker" naming the cell, the queue,
 * the Redis URL and the command that starts a worker, instead of waiting silently. (A distributed
 * ACDC's parts: batches/acdc-queue.test.ts.)
 */
const world = redisWorld("no-worker");

describe.skipIf(redisBin === "")("a queue no worker serves", () => {
  beforeAll(world.setup, 15_000);
  afterAll(world.teardown, 30_000);

  it("cells: a typed no-worker failure within the grace, naming the cell, the queue and the fix; the run logged the hint", async () => {
    const file = join(world.dir, "eap.yaml");
    writeFileSync(
      file,
      "name: alone\nmodel: builtin:induction\ntask: { n: 2 }\nmethod: { _tag: eap }\nevaluation: { spearmanSample: 0 }\n",
    );
    const lines: string[] = [];
    const t0 = Date.now();
    const exit = await Effect.runPromiseExit(
      runExperiment(await Effect.runPromise(loadExperiment(file)), {
        results: join(world.dir, "cells"),
        executor: redisExecutor({
          redis: world.url(),
          queue: "alone",
          workerGraceMs: 1000,
          pollMs: 200,
          log: (l) => lines.push(l),
        }),
      }),
    );
    expect(Date.now() - t0).toBeLessThan(15_000);
    const e = noWorkerFailure(exit, world.url(), "alone");
    expect(e.cellId).toMatch(/^[0-9a-f]{64}$/);
    expect(e.message).toContain(e.cellId);
    expect(lines.join("\n")).toContain(`no worker is serving queue alone on ${world.url()}`);
  }, 30_000);

  it("shards: a typed no-worker failure within the grace, naming the shard's cell and the queue", async () => {
    const spec = nodePatchingInShards;
    const t0 = Date.now();
    const exit = await Effect.runPromiseExit(
      shardedScores(
        { spec, baseDir: world.dir },
        {
          results: join(world.dir, "shards"),
          redis: { redis: world.url(), queue: "alone", workerGraceMs: 1000, pollMs: 200 },
        },
      ),
    );
    expect(Date.now() - t0).toBeLessThan(15_000);
    const e = noWorkerFailure(exit, world.url(), "alone");
    expect(e.message).toMatch(/2 shards waited \d+ s/);
  }, 30_000);
});
