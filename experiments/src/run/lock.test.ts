import { spawn, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { RunLockedError } from "./errors.ts";
import { acquireRunLock, STALE_AFTER_MS } from "./lock.ts";
import type { RunManifest } from "./manifest.ts";

const dir = mkdtempSync(join(tmpdir(), "patchbay-lock-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A pid that was alive a moment ago and is not any more (its process exited). */
const deadPid = (): number => {
  const r = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], {
    encoding: "utf8",
  });
  return Number(r.stdout);
};

const locked = (path: string): RunLockedError => {
  try {
    acquireRunLock(path);
  } catch (e) {
    expect(e).toBeInstanceOf(RunLockedError);
    return e as RunLockedError;
  }
  throw new Error("the lock was taken");
};

describe("the run lock", () => {
  it("is exclusive, names its owner, and is released", () => {
    const path = join(dir, "a.lock");
    const lock = acquireRunLock(path);
    const owner = JSON.parse(readFileSync(path, "utf8"));
    expect(owner).toEqual({ pid: process.pid, hostname: hostname(), startedAt: lock.owner.startedAt });
    const e = locked(path);
    expect(e.owner).toEqual(lock.owner);
    expect(e.message).toContain(path);
    expect(e.message).toContain(`pid ${process.pid} on ${hostname()}`);
    lock.release();
    expect(existsSync(path)).toBe(false);
    acquireRunLock(path).release();
  });

  it("a lock of a dead process on this host is stale and taken over", () => {
    const path = join(dir, "stale.lock");
    const pid = deadPid();
    writeFileSync(path, JSON.stringify({ pid, hostname: hostname(), startedAt: "2020-01-01T00:00:00.000Z" }));
    const lock = acquireRunLock(path);
    expect(JSON.parse(readFileSync(path, "utf8")).pid).toBe(process.pid);
    expect(readdirSync(dir).filter((f) => f.startsWith("stale.lock."))).toEqual([]); // nothing left aside
    lock.release();
  });

  it("another host's lock holds until it is untouched for STALE_AFTER_MS; an unreadable lock holds while young", () => {
    const path = join(dir, "remote.lock");
    writeFileSync(
      path,
      JSON.stringify({ pid: 1, hostname: "elsewhere", startedAt: "2020-01-01T00:00:00.000Z" }),
    );
    expect(locked(path).owner).toMatchObject({ hostname: "elsewhere" });
    const old = new Date(Date.now() - STALE_AFTER_MS - 60_000);
    utimesSync(path, old, old);
    acquireRunLock(path).release();
    writeFileSync(path, "");
    expect(locked(path).owner).toBeNull();
    const minuteAgo = new Date(Date.now() - 60_000);
    utimesSync(path, minuteAgo, minuteAgo);
    acquireRunLock(path).release();
  });

  it("release leaves a lock that is no longer this process's", () => {
    const path = join(dir, "theirs.lock");
    const lock = acquireRunLock(path);
    writeFileSync(path, JSON.stringify({ pid: 1, hostname: "elsewhere", startedAt: "now" }));
    lock.release();
    expect(existsSync(path)).toBe(true);
  });
});

describe("two `run` processes on one experiment and store", () => {
  const repo = fileURLToPath(new URL("../../../", import.meta.url));
  const main = fileURLToPath(new URL("../cli/main.ts", import.meta.url));
  const cells = 12;
  const file = join(dir, "race.yaml");
  writeFileSync(
    file,
    [
      "name: race",
      "model: builtin:induction",
      "task: { n: 8 }",
      "method: { _tag: eap }",
      "selection: { _tag: top-n, n: 4 }",
      "evaluation: { spearmanSample: 0, truth: false }",
      "outputs: { results: store }",
      `sweep: { grid: { task.seed: [${Array.from({ length: cells }, (_, i) => i).join(", ")}] } }`,
      "",
    ].join("\n"),
  );
  const run = () =>
    new Promise<{ status: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ["--import", "tsx", main, "run", file], {
        cwd: repo,
        stdio: ["ignore", "ignore", "pipe"],
      });
      let stderr = "";
      child.stderr.on("data", (d: Buffer) => {
        stderr += d.toString();
      });
      child.on("exit", (status) => resolve({ status, stderr }));
    });
  const computed = (stderr: string) => (stderr.match(/^cell \d+\/\d+ \w+ done in/gm) ?? []).length;

  it("started at once: exactly one computes, each cell once; the other is told who holds the lock; the manifest is complete", async () => {
    const [a, b] = await Promise.all([run(), run()]);
    const results = join(dir, "store");
    const runs = readdirSync(join(results, "runs"));
    expect(runs).toHaveLength(1);
    const m = JSON.parse(
      readFileSync(join(results, "runs", runs[0]!, "manifest.json"), "utf8"),
    ) as RunManifest;
    expect(m.status).toBe("done");
    expect(m.cells).toHaveLength(cells);
    expect(Object.keys(m.timings.cells)).toHaveLength(cells);
    // every cell computed exactly once, by one process
    expect(computed(a.stderr) + computed(b.stderr)).toBe(cells);
    expect(readdirSync(join(results, "cells")).filter((f) => f.endsWith(".json"))).toHaveLength(cells);
    const [winner, loser] = a.status === 0 && computed(a.stderr) === cells ? [a, b] : [b, a];
    expect(winner.status, winner.stderr).toBe(0);
    if (loser.status === 0) {
      // it started after the winner had finished: it found every cell in the store
      expect(computed(loser.stderr)).toBe(0);
      expect(m.invocations).toHaveLength(2);
    } else {
      expect(loser.status).toBe(1);
      expect(loser.stderr).toContain("RunLockedError");
      expect(loser.stderr).toContain(join(results, "runs", runs[0]!, "run.lock"));
      expect(loser.stderr).toMatch(/this run is in progress in pid \d+ on /);
      expect(loser.stderr).not.toMatch(/\n\s+at /);
      expect(m.invocations).toHaveLength(1);
    }
    expect(m.invocations.reduce((n, i) => n + i.computed, 0)).toBe(cells);
    expect(existsSync(join(results, "runs", runs[0]!, "run.lock"))).toBe(false);
  });

  it("a stale lock (a dead pid of this host) is taken over by the next run", async () => {
    const results = join(dir, "store");
    const [runId] = readdirSync(join(results, "runs"));
    const lock = join(results, "runs", runId!, "run.lock");
    writeFileSync(
      lock,
      JSON.stringify({ pid: deadPid(), hostname: hostname(), startedAt: "2020-01-01T00:00:00.000Z" }),
    );
    const r = await run();
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`${cells} cells, ${cells} already done`);
    expect(existsSync(lock)).toBe(false);
  });
});
