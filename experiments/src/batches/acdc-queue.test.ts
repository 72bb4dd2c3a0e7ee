import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Effect } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testdataPath } from "../../../packages/core/src/testing/testdata.ts";
import { redisExecutor } from "../distributed/executor.ts";
import { exited, failureOf, noWorkerFailure, redisBin, redisWorld } from "../distributed/test-support.ts";
import type { CellFailedError } from "../pool/executor.ts";
import { threadPool } from "../pool/threads.ts";
import { type RunEvent, runExperiment } from "../run/experiment.ts";
import { loadExperiment } from "../spec/load.ts";
import { distributedAcdc } from "./acdc.ts";
import { acdcJson, acdcSpecOf } from "./test-support.ts";

/**
 * A distributed ACDC's coordinators on a real redis-server, where they used to hang or lose:
 * - no worker serving the queue: a typed failure within the grace, naming the cell, the queue,
 *   the Redis URL and the command that starts a worker (in code and from `patchbay run`); a
 *   timeout shorter than the grace is a typed timeout naming the cell and the queue;
 * - two coordinators on the same cell at once (same job ids): both get the local bytes, each part
 *   computed once (shared, never removed under the other), and a later coordinator reads the
 *   finished parts instead of computing them again;
 * - a sweep of split ACDC cells: the coordinators run at once (all cells start before the first
 *   ends), on the queue and on shared threads, with every cell's bytes those of a local run; a run
 *   SIGKILLed mid-sweep resumes to the same bytes.
 */
const world = redisWorld("acdc-queue");
const { dir, start } = world;
const doneBatches = (logs: string) => [...logs.matchAll(/^done batch ([0-9a-f]{64})/gm)].map((m) => m[1]!);

const specOf = (model: string, n = 4) => acdcSpecOf(model, { tau: 0.01, speculate: 4, split: 2 }, n);

const experiment = (name: string, grid?: string) => {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    [
      `name: ${name}`,
      "model: builtin:induction",
      "task: { n: 4 }",
      "method: { _tag: acdc, tau: 0.05, split: 2 }",
      "evaluation: { spearmanSample: 0 }",
      ...(grid === undefined ? [] : ["sweep:", `  grid: { ${grid} }`]),
      "",
    ].join("\n"),
  );
  return file;
};
const sameCells = (a: string, b: string) => {
  const names = readdirSync(join(a, "cells")).sort();
  expect(readdirSync(join(b, "cells")).sort()).toEqual(names);
  for (const f of names)
    expect(readFileSync(join(a, "cells", f)).equals(readFileSync(join(b, "cells", f))), f).toBe(true);
  return names.length;
};

describe.skipIf(redisBin === "")("ACDC coordinators on Redis: no silent wait, no lost part", () => {
  beforeAll(world.setup, 15_000);
  afterAll(world.teardown, 30_000);

  it("no worker on the queue: a typed no-worker failure within the grace (in code and from `patchbay run`); a shorter timeout is a typed timeout", async () => {
    const input = { spec: specOf("builtin:induction", 2), baseDir: dir };
    const t0 = Date.now();
    const lonely = await Effect.runPromiseExit(
      distributedAcdc(input, { redis: { redis: world.url(), queue: "lonely", workerGraceMs: 1500 } }),
    );
    expect(Date.now() - t0).toBeLessThan(15_000);
    noWorkerFailure(lonely, world.url(), "lonely");

    const timed = failureOf(
      await Effect.runPromiseExit(
        distributedAcdc(input, {
          redis: { redis: world.url(), queue: "lonely", workerGraceMs: 60_000, timeoutMs: 1500 },
        }),
      ),
    ) as CellFailedError;
    expect(timed).toMatchObject({ _tag: "CellFailedError", reason: "timed-out", cause: { _tag: "Timeout" } });
    expect(timed.message).toMatch(
      /not finished after 1500 ms on redis:\/\/127\.0\.0\.1:\d+ queue lonely \(job waiting\)/,
    );

    // from the command line: exit 1 within the grace, naming the cell, the queue and the fix
    const file = experiment("lonely");
    const plan = await Effect.runPromise(loadExperiment(file));
    const local = await Effect.runPromise(runExperiment(plan, { results: join(dir, "lonely-local") }));
    const cellId = local.cells[0]!.cellId;
    const run = start([
      "run",
      file,
      "--results",
      join(dir, "lonely"),
      "--redis",
      world.url(),
      "--queue",
      "lonely",
      "--worker-grace",
      "2",
      "--timeout",
      "120",
    ]);
    const t1 = Date.now();
    expect(await exited(run.child, 40_000), run.out()).toBe(1);
    expect(Date.now() - t1).toBeLessThan(40_000);
    expect(run.out()).toContain(cellId);
    expect(run.out()).toContain(`no worker is serving queue lonely on ${world.url()}`);
    expect(run.out()).toContain(`patchbay worker --redis ${world.url()} --queue lonely`);
  }, 60_000);

  it("two coordinators on the same cell at once, 2 workers: both byte-identical to local, each part computed once; a third reads the finished parts", async () => {
    const input = { spec: specOf(testdataPath("fixtures", "tiny-gpt2")), baseDir: dir };
    const local = acdcJson(await Effect.runPromise(distributedAcdc(input, {})));
    const ws = await world.workers(2);
    const redis = { redis: world.url(), timeoutMs: 50_000, workerGraceMs: 20_000 };
    try {
      const [a, b] = await Promise.all([
        Effect.runPromise(distributedAcdc(input, { redis })),
        Effect.runPromise(distributedAcdc(input, { redis })),
      ]);
      expect(acdcJson(a)).toBe(local);
      expect(acdcJson(b)).toBe(local);
      const done = doneBatches(ws.map((w) => w.out()).join("\n"));
      expect(done.length).toBeGreaterThan(4);
      expect(new Set(done).size, "no part computed twice").toBe(done.length);
      // the finished parts stay on the queue for a while: a third coordinator computes nothing
      const c = await Effect.runPromise(distributedAcdc(input, { redis }));
      expect(acdcJson(c)).toBe(local);
      expect(doneBatches(ws.map((w) => w.out()).join("\n"))).toHaveLength(done.length);
    } finally {
      await world.stop(ws);
    }
  }, 60_000);

  it("a sweep of 4 split ACDC cells (2 taus × 2 seeds): the cells of one setup coordinated at once, setups one after another, on the queue and on shared threads; each cell byte-identical to local; a run killed mid-sweep resumes to the same bytes", async () => {
    const file = experiment("sweep", "method.tau: [0.02, 0.05], task.seed: [0, 1]");
    const plan = await Effect.runPromise(loadExperiment(file));
    const localDir = join(dir, "sweep-local");
    const local = await Effect.runPromise(runExperiment(plan, { results: localDir }));
    const order = (events: RunEvent[]) => events.filter((e) => e._tag !== "planned").map((e) => e._tag);
    const ws = await world.workers(2);
    try {
      // killed in the middle of the loops (a few parts done): the rerun resumes, to the same bytes
      const killedDir = join(dir, "sweep-killed");
      const parts = () => doneBatches(ws.map((w) => w.out()).join("\n")).length;
      const run = start(["run", file, "--results", killedDir, "--redis", world.url(), "--timeout", "50"]);
      await new Promise<void>((resolve) => {
        const t = setInterval(() => {
          if (parts() >= 3 || run.child.exitCode !== null) {
            clearInterval(t);
            run.child.kill("SIGKILL");
            resolve();
          }
        }, 20);
      });
      await exited(run.child, 5000);
      expect(run.child.signalCode, run.out()).toBe("SIGKILL");
      const again = start(["run", file, "--results", killedDir, "--redis", world.url(), "--timeout", "50"]);
      expect(await exited(again.child, 50_000), again.out()).toBe(0);
      expect(sameCells(localDir, killedDir)).toBe(4);

      // in code, a setup's two loops at once (parts read back from the queue where they are finished)
      const events: RunEvent[] = [];
      const queued = join(dir, "sweep-queue");
      await Effect.runPromise(
        runExperiment(plan, {
          results: queued,
          executor: redisExecutor({ redis: world.url(), timeoutMs: 50_000, acdcCells: 2 }),
          onEvent: (e) => events.push(e),
        }),
      );
      const pair = ["cell-start", "cell-start", "cell-done", "cell-done"];
      expect(order(events), "a setup's cells start before either ends; then the other setup's").toEqual([
        ...pair,
        ...pair,
      ]);
      // the cells started together are one seed's (one setup): the first two starts, the last two
      const seedOf = (index: number) =>
        (local.cells.find((c) => c.cell.index === index)!.cell.spec as { task: { seed: number } }).task.seed;
      const starts = events.flatMap((e) => (e._tag === "cell-start" ? [seedOf(e.index)] : []));
      expect(starts[0]).toBe(starts[1]);
      expect(starts[2]).toBe(starts[3]);
      expect(starts[0]).not.toBe(starts[2]);
      expect(sameCells(localDir, queued)).toBe(4);
    } finally {
      await world.stop(ws);
    }

    const threadEvents: RunEvent[] = [];
    const threads = join(dir, "sweep-threads");
    await Effect.runPromise(
      runExperiment(plan, {
        results: threads,
        executor: threadPool({ workers: 2, acdcCells: 2 }),
        onEvent: (e) => threadEvents.push(e),
      }),
    );
    const pair = ["cell-start", "cell-start", "cell-done", "cell-done"];
    expect(order(threadEvents)).toEqual([...pair, ...pair]);
    expect(sameCells(localDir, threads)).toBe(4);
  }, 120_000);
});
