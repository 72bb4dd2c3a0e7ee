import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Queue, QueueEvents } from "bullmq";
import { Cause, Effect, Exit, Option } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CellResult } from "../kinds/index.ts";
import { type RunManifest, runExperiment } from "../run/experiment.ts";
import { loadExperiment } from "../spec/load.ts";
import { CellFailedError } from "../pool/executor.ts";
import { redisExecutor } from "./executor.ts";
import { type CellJobData, type CellJobResult, connectionOf, DEFAULT_QUEUE } from "./queue.ts";
import { exited, redisBin, redisWorld } from "./test-support.ts";

/**
 * Distributed runs on a real redis-server (loopback only, no persistence, in a temp folder):
 * three `patchbay worker` child processes, `patchbay run --redis` in another, one worker
 * SIGKILLed in the middle of a cell. Every cell must end up in the store exactly once, parse, and
 * be byte-identical to a local single-process run; the killed worker's job is retried (stalled).
 */
const world = redisWorld("redis");

const CELLS = 8;
const { dir, start } = world;
const file = join(dir, "dist.yaml");
writeFileSync(
  file,
  [
    "name: dist",
    "model: builtin:induction",
    "task: { n: 8 }",
    "method: { _tag: eap }",
    "selection: { _tag: top-n, n: 4 }",
    "evaluation: { spearmanSample: 8 }",
    "outputs: { results: store }",
    "sweep:",
    "  grid: { task.seed: [0, 1, 2, 3], ablation: [resample, zero] }",
    "",
  ].join("\n"),
);

const cellFiles = (results: string) => readdirSync(join(results, "cells"));

describe.skipIf(redisBin === "")("distributed runs on Redis (BullMQ)", () => {
  beforeAll(world.setup, 15_000);
  afterAll(world.teardown, 30_000);

  it("3 workers, one SIGKILLed mid-cell: every cell once, byte-identical to a local run; the summary is complete", async () => {
    // the reference: the same sweep in one process
    const loaded = await Effect.runPromise(loadExperiment(file));
    const local = await Effect.runPromise(runExperiment(loaded, { results: join(dir, "local") }));
    expect(local.cells).toHaveLength(CELLS);

    const url = world.url();
    const workers = await world.workers(3, ["--lock-ms", "1500", "--stalled-ms", "500"]);

    // the first worker to start a cell is killed at once (its cell cannot have finished)
    let victim: { worker: number; cellId: string } | null = null;
    const killed = new Promise<void>((resolve) => {
      workers.forEach((w, i) => {
        const onData = () => {
          const m = /^start ([0-9a-f]{64})/m.exec(w.out());
          if (victim === null && m !== null) {
            victim = { worker: i, cellId: m[1]! };
            w.child.kill("SIGKILL");
            resolve();
          }
        };
        w.child.stderr!.on("data", onData);
      });
    });

    const results = join(dir, "shared");
    const run = start(["run", file, "--results", results, "--redis", url, "--timeout", "50", "--json"]);
    await Promise.race([killed, exited(run.child, 55_000)]);
    expect(victim, "a worker was killed mid-cell").not.toBeNull();
    const code = await exited(run.child, 55_000);
    expect(code, run.out()).toBe(0);
    const v = victim as unknown as { worker: number; cellId: string };
    expect(workers[v.worker]!.child.signalCode).toBe("SIGKILL");

    // the killed worker's cell was taken back (stalled) and computed by another worker
    const survivors = workers.filter((_, i) => i !== v.worker).map((w) => w.out());
    expect(survivors.join("\n")).toMatch(new RegExp(`^(done|skipped) ${v.cellId}`, "m"));
    expect(workers[v.worker]!.out()).not.toMatch(new RegExp(`^done ${v.cellId}`, "m"));

    // the store: every cell exactly once, complete, byte-identical to the local run
    const files = cellFiles(results);
    const json = files.filter((f) => f.endsWith(".json")).sort();
    expect(json).toEqual(local.cells.map((c) => `${c.cellId}.json`).sort());
    expect(files.filter((f) => !f.endsWith(".json")).every((f) => f.startsWith(".tmp-"))).toBe(true);
    for (const f of json) {
      const bytes = readFileSync(join(results, "cells", f));
      expect(bytes.equals(readFileSync(join(dir, "local", "cells", f))), f).toBe(true);
      expect(`${(JSON.parse(bytes.toString("utf8")) as CellResult).cellId}.json`).toBe(f);
    }

    // the run's summary and manifest, as a local run writes them
    const out = JSON.parse(run.stdout()) as {
      runId: string;
      rows: { cellId: string }[];
    };
    expect(out.runId).toBe(local.runId);
    expect(out.rows.map((r) => r.cellId)).toEqual(local.cells.map((c) => c.cellId));
    const m = JSON.parse(
      readFileSync(join(results, "runs", out.runId, "manifest.json"), "utf8"),
    ) as RunManifest;
    expect(m.status).toBe("done");
    expect(m.invocations.at(-1)).toMatchObject({ computed: CELLS, skipped: 0 });
    expect(Object.keys(m.timings.cells).sort()).toEqual(local.cells.map((c) => c.cellId).sort());
    expect(readdirSync(join(results, "runs", out.runId)).sort()).toEqual([
      "manifest.json",
      "table.arrow",
      "table.jsonl",
    ]);

    // every job completed once in the queue
    const queue = new Queue<CellJobData, CellJobResult>(DEFAULT_QUEUE, { connection: connectionOf(url) });
    const events = new QueueEvents(DEFAULT_QUEUE, { connection: connectionOf(url) });
    try {
      for (const c of local.cells) expect(await queue.getJobState(c.cellId)).toBe("completed");

      // a duplicate delivery of a finished cell is acknowledged without computing it again
      const before = statSync(join(results, "cells", `${v.cellId}.json`));
      await events.waitUntilReady();
      const data = (await queue.getJob(v.cellId))!.data;
      const dup = await queue.add("cell", data, { jobId: `${v.cellId}-again` });
      const r = await dup.waitUntilFinished(events, 20_000);
      expect(r).toMatchObject({ cellId: v.cellId, skipped: true });
      const after = statSync(join(results, "cells", `${v.cellId}.json`));
      expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);

      // and a second run enqueues nothing: all cells are in the store
      const again = await Effect.runPromise(
        runExperiment(loaded, { results, executor: redisExecutor({ redis: url, timeoutMs: 10_000 }) }),
      );
      expect(again.cells.every((c) => c.skipped)).toBe(true);

      // a cell's own typed error is not retried: the run fails with it, naming the cell
      const bad = join(dir, "bad.yaml");
      writeFileSync(
        bad,
        readFileSync(file, "utf8").replace("spearmanSample: 8 }", "spearmanSample: 8, truth: nope }"),
      );
      const exit = await Effect.runPromiseExit(
        runExperiment(await Effect.runPromise(loadExperiment(bad)), {
          results: join(dir, "bad"),
          executor: redisExecutor({ redis: url, timeoutMs: 20_000 }),
        }),
      );
      expect(Exit.isFailure(exit)).toBe(true);
      const e = Exit.isFailure(exit) ? Option.getOrNull(Cause.failureOption(exit.cause)) : null;
      expect(e).toBeInstanceOf(CellFailedError);
      const f = e as CellFailedError;
      expect(f).toMatchObject({ reason: "failed", cause: { _tag: "InputError" } });
      expect(f.message).toContain(f.cellId);
      const failed = (await queue.getJob(f.cellId))!;
      expect(await failed.getState()).toBe("failed");
      expect(failed.attemptsMade).toBe(1);
    } finally {
      await Promise.allSettled([queue.close(), events.close()]);
    }
  }, 110_000);
});
