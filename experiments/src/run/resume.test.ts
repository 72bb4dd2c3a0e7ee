import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { CellResult } from "../kinds/index.ts";
import type { RunManifest } from "./experiment.ts";

/**
 * Resumability: `patchbay run` on a 10-cell sweep in a child process (node itself, so SIGKILL
 * reaches the process that writes), killed at a seeded random moment after some cells finished,
 * then restarted. Every cell must end up in the store exactly once, parse, and carry its own id;
 * no temporary file may be left, nothing truncated.
 */
const repo = fileURLToPath(new URL("../../../", import.meta.url));
const main = fileURLToPath(new URL("../cli/main.ts", import.meta.url));
const SEED = 20260;
const CELLS = 10;

const mulberry32 = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

const checkStore = (results: string) => {
  const files = readdirSync(join(results, "cells"));
  const json = files.filter((f) => f.endsWith(".json"));
  for (const f of json) {
    const text = readFileSync(join(results, "cells", f), "utf8");
    expect(text.endsWith("}\n"), `${f} is complete`).toBe(true);
    const r = JSON.parse(text) as CellResult;
    expect(`${r.cellId}.json`).toBe(f);
  }
  return { json, others: files.filter((f) => !f.endsWith(".json")) };
};

describe("resumability", () => {
  it("a sweep killed with SIGKILL mid-run resumes: every cell present exactly once, complete, no temp files", async () => {
    const dir = mkdtempSync(join(tmpdir(), "patchbay-resume-"));
    const file = join(dir, "resume.yaml");
    writeFileSync(
      file,
      [
        "name: resume",
        "model: builtin:induction",
        "task: { n: 8 }",
        "method: { _tag: eap }",
        "selection: { _tag: top-n, n: 4 }",
        "evaluation: { spearmanSample: 0, truth: false }",
        "outputs: { results: store }",
        `sweep: { grid: { task.seed: [${Array.from({ length: CELLS }, (_, i) => i).join(", ")}] } }`,
        "",
      ].join("\n"),
    );
    const results = join(dir, "store");
    const rand = mulberry32(SEED);
    const killAfter = 2 + Math.floor(rand() * 5); // after the 2nd … 6th finished cell
    const delayMs = Math.floor(rand() * 250); // … and somewhere inside the next one

    const child = spawn(process.execPath, ["--import", "tsx", main, "run", file], {
      cwd: repo,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    const killed = await new Promise<{ done: number; signal: string | null }>((resolve) => {
      let done = 0;
      let scheduled = false;
      child.stderr.on("data", (d: Buffer) => {
        stderr += d.toString();
        done = (stderr.match(/^cell \d+\/\d+ \w+ done in/gm) ?? []).length;
        if (!scheduled && done >= killAfter) {
          scheduled = true;
          setTimeout(() => child.kill("SIGKILL"), delayMs);
        }
      });
      child.on("exit", (_code, signal) => resolve({ done, signal }));
    });
    expect(killed.signal, stderr).toBe("SIGKILL");
    expect(killed.done).toBeGreaterThanOrEqual(killAfter);
    expect(killed.done).toBeLessThan(CELLS);

    // after the kill: what is in the store is complete; the run shows as interrupted
    const partial = checkStore(results);
    expect(partial.json.length).toBeGreaterThanOrEqual(killed.done);
    expect(partial.json.length).toBeLessThan(CELLS);
    expect(partial.others.every((f) => f.startsWith(".tmp-"))).toBe(true);
    const ls1 = spawnSync(process.execPath, ["--import", "tsx", main, "ls", results, "--json"], {
      cwd: repo,
      encoding: "utf8",
    });
    expect(ls1.status, ls1.stderr).toBe(0);
    const [run1] = JSON.parse(ls1.stdout) as { status: string; done: number; total: number }[];
    expect(run1).toMatchObject({ status: "interrupted", done: partial.json.length, total: CELLS });

    // a temp file of a dead writer (as a kill during a write leaves) is cleaned up by the next run
    writeFileSync(
      join(results, "cells", `.tmp-${"0".repeat(64)}.json-4194999-0123456789ab`),
      '{"cellId": "trunc',
    );

    // restart: finishes, computing only what was missing
    const again = spawnSync(process.execPath, ["--import", "tsx", main, "run", file], {
      cwd: repo,
      encoding: "utf8",
    });
    expect(again.status, again.stderr).toBe(0);
    const skipped = (again.stderr.match(/skipped \(already in the store\)/g) ?? []).length;
    expect(skipped).toBe(partial.json.length);
    expect((again.stderr.match(/done in/g) ?? []).length).toBe(CELLS - partial.json.length);

    const final = checkStore(results);
    expect(final.others).toEqual([]); // stale temp files removed, none left
    const runs = readdirSync(join(results, "runs"));
    expect(runs).toHaveLength(1);
    const m = JSON.parse(
      readFileSync(join(results, "runs", runs[0]!, "manifest.json"), "utf8"),
    ) as RunManifest;
    expect(m.status).toBe("done");
    const ids = m.cells.map((c) => c.cellId);
    expect(new Set(ids).size).toBe(CELLS);
    expect(final.json.sort()).toEqual(ids.map((id) => `${id}.json`).sort());
    expect(m.invocations).toHaveLength(2);
    expect(m.invocations[0]!.finishedAt).toBeNull();
    expect(m.invocations[1]!.computed + m.invocations[1]!.skipped).toBe(CELLS);
    expect(readdirSync(join(results, "runs", runs[0]!)).sort()).toEqual([
      "manifest.json",
      "table.arrow",
      "table.jsonl",
    ]);
    const rows = readFileSync(join(results, "runs", runs[0]!, "table.jsonl"), "utf8")
      .trim()
      .split("\n");
    expect(rows.map((l) => JSON.parse(l).cellId)).toEqual(ids);
  });
});
