import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Cause, Effect, Exit, Option } from "effect";
import { describe, expect, it } from "vitest";
import { planCells, type RunManifest, runExperiment } from "../run/experiment.ts";
import { loadExperiment } from "../spec/load.ts";
import { CellFailedError, type CellJob } from "./executor.ts";
import { createThreadPool, threadPool } from "./threads.ts";

const dir = mkdtempSync(join(tmpdir(), "patchbay-pool-"));
const file = join(dir, "pool.yaml");
writeFileSync(
  file,
  [
    "name: pool",
    "model: builtin:induction",
    "task: { n: 8 }",
    "method: { _tag: eap }",
    "selection: { _tag: top-n, n: 4 }",
    "evaluation: { spearmanSample: 16, truth: true }",
    "sweep: { grid: { task.seed: [0, 1, 2, 3] } }",
    "",
  ].join("\n"),
);
const load = () => Effect.runPromise(loadExperiment(file));
const crashWorker = new URL("./crash-worker.fixture.ts", import.meta.url);
const cellFiles = (results: string) =>
  readdirSync(join(results, "cells"))
    .filter((f) => f.endsWith(".json"))
    .sort();
const failureOf = (exit: Exit.Exit<unknown, unknown>) => {
  expect(Exit.isFailure(exit)).toBe(true);
  if (!Exit.isFailure(exit)) throw new Error("unreachable");
  return Option.getOrThrow(Cause.failureOption(exit.cause));
};

describe("thread pool", () => {
  it("workers: 2 writes byte-identical cell files, the same manifest cells and table as in process", async () => {
    const loaded = await load();
    const one = await Effect.runPromise(runExperiment(loaded, { results: join(dir, "one") }));
    const events: string[] = [];
    const two = await Effect.runPromise(
      runExperiment(loaded, { results: join(dir, "two"), workers: 2, onEvent: (e) => events.push(e._tag) }),
    );
    expect(two.runId).toBe(one.runId);
    expect(cellFiles(two.results)).toEqual(cellFiles(one.results));
    expect(cellFiles(one.results)).toHaveLength(4);
    for (const f of cellFiles(one.results))
      expect(
        readFileSync(join(two.results, "cells", f)).equals(readFileSync(join(one.results, "cells", f))),
      ).toBe(true);
    expect(two.cells.map((c) => c.cellId)).toEqual(one.cells.map((c) => c.cellId));
    expect(two.cells.every((c) => !c.skipped && c.seconds !== null)).toBe(true);
    expect(two.manifest.status).toBe("done");
    expect(two.manifest.invocations.at(-1)).toMatchObject({ computed: 4, skipped: 0 });
    expect(readFileSync(join(two.results, "runs", two.runId, "table.jsonl"), "utf8").split("\n").length).toBe(
      5,
    );
    expect(events.filter((e) => e === "cell-done")).toHaveLength(4);
    // resumes like the in-process run: everything present → nothing is sent to a worker
    const again = await Effect.runPromise(runExperiment(loaded, { results: join(dir, "two"), workers: 2 }));
    expect(again.cells.every((c) => c.skipped)).toBe(true);
  });

  it("a worker that exits mid-cell fails that cell with a CellFailedError naming it; the run records it", async () => {
    const loaded = await load();
    const planned = await Effect.runPromise(planCells(loaded));
    const victim = planned[1]!;
    const results = join(dir, "crash");
    const exit = await Effect.runPromiseExit(
      runExperiment(loaded, {
        results,
        executor: threadPool({
          workers: 2,
          entry: crashWorker,
          workerOptions: { crashCell: victim.cellId, how: "exit" },
        }),
      }),
    );
    const e = failureOf(exit);
    expect(e).toBeInstanceOf(CellFailedError);
    const f = e as CellFailedError;
    expect(f).toMatchObject({ cellId: victim.cellId, index: 1, reason: "crashed" });
    expect(f.message).toContain(victim.cellId);
    expect(f.message).toContain("exited with code 7");
    const m = JSON.parse(
      readFileSync(join(results, "runs", readdirSync(join(results, "runs"))[0]!, "manifest.json"), "utf8"),
    ) as RunManifest;
    expect(m.status).toBe("failed");
    expect(m.error).toContain(victim.cellId);
    // the cell is not in the store; the cells that ran are, complete
    expect(cellFiles(results)).not.toContain(`${victim.cellId}.json`);
    expect(cellFiles(results).length).toBeGreaterThanOrEqual(1);
    // the next run (no crash) computes only what is missing
    const s = await Effect.runPromise(runExperiment(loaded, { results, workers: 2 }));
    expect(s.cells.find((c) => c.cellId === victim.cellId)?.skipped).toBe(false);
    expect(cellFiles(results)).toHaveLength(4);
  });

  it("an uncaught exception or a time limit fails the cell; the pool replaces the worker for the next job", async () => {
    const loaded = await load();
    const planned = await Effect.runPromise(planCells(loaded));
    const results = join(dir, "pool");
    const job = (i: number): CellJob => ({
      index: i,
      cellId: planned[i]!.cellId,
      input: { ...planned[i]!.input, results, cellId: planned[i]!.cellId },
    });
    const pool = createThreadPool({
      size: 1,
      entry: crashWorker,
      workerOptions: { crashCell: planned[0]!.cellId, how: "throw" },
    });
    try {
      const crashed = await pool.run(job(0)).then(
        () => null,
        (e: unknown) => e,
      );
      expect(crashed).toBeInstanceOf(CellFailedError);
      expect(crashed).toMatchObject({ reason: "crashed", cellId: planned[0]!.cellId });
      expect((crashed as CellFailedError).message).toContain(`boom in ${planned[0]!.cellId}`);
      const ok = await pool.run(job(2));
      expect(ok).toMatchObject({ cellId: planned[2]!.cellId, skipped: false });
      expect((await pool.run(job(2))).skipped).toBe(true); // already in the store: acknowledged, not recomputed
    } finally {
      await pool.close();
    }
    const slow = createThreadPool({ size: 1, timeoutMs: 20 });
    try {
      const timedOut = await slow.run(job(3)).then(
        () => null,
        (e: unknown) => e,
      );
      expect(timedOut).toMatchObject({
        _tag: "CellFailedError",
        reason: "timed-out",
        cellId: planned[3]!.cellId,
      });
    } finally {
      await slow.close();
    }
  });

  it("patchbay run --workers 2: a cell's own typed error fails the run, naming the cell and the error (exit 1)", () => {
    const bad = join(dir, "bad.yaml");
    // planning passes (model and task load); each cell then fails at its ground-truth lookup
    writeFileSync(bad, readFileSync(file, "utf8").replace("truth: true", "truth: no-such-variant"));
    const repo = fileURLToPath(new URL("../../../", import.meta.url));
    const main = fileURLToPath(new URL("../cli/main.ts", import.meta.url));
    const r = spawnSync(
      process.execPath,
      ["--import", "tsx", main, "run", bad, "--workers", "2", "--results", join(dir, "bad")],
      {
        cwd: repo,
        encoding: "utf8",
        timeout: 50_000,
      },
    );
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toMatch(
      /patchbay run: RuntimeError: cell \d \([0-9a-f]{64}\): computing it on worker thread \d failed: failed: InputError: evaluation\.truth: expected a ground-truth variant/,
    );
    expect(r.stderr).toContain('found "no-such-variant"');
    const u = spawnSync(
      process.execPath,
      ["--import", "tsx", main, "run", bad, "--workers", "2", "--redis", "redis://127.0.0.1:1"],
      {
        cwd: repo,
        encoding: "utf8",
        timeout: 20_000,
      },
    );
    expect(u.status, u.stderr).toBe(2); // usage: one executor at a time
  });
});
