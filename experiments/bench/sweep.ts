/**
 * `pnpm bench:sweep`: one sweep of 8 cells on builtin:induction (exact patching of all 81 edges over
 * 64 examples; ~10 s a cell, long enough to amortise a worker's start-up), run in process (workers 1) and on a pool of 2
 * worker threads, each into a fresh results store. Prints wall time (planning and thread start-up
 * included), cell time, CPU time of all threads, the speed-up, and checks that both stores hold
 * byte-identical cell files.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { Effect } from "effect";
import { loadExperiment, runExperiment } from "../src/index.ts";

const dir = mkdtempSync(join(tmpdir(), "patchbay-bench-sweep-"));
const file = join(dir, "bench.yaml");
writeFileSync(
  file,
  [
    "name: bench-sweep",
    "model: builtin:induction",
    "task: { n: 64 }",
    "method: { _tag: exact }",
    "selection: { _tag: top-n, n: 8 }",
    "evaluation: { spearmanSample: 32 }",
    "runtime: { threads: 1 }",
    "outputs: { results: store }",
    "sweep: { grid: { task.seed: [0, 1, 2, 3, 4, 5, 6, 7] } }",
    "",
  ].join("\n"),
);

const loaded = await Effect.runPromise(loadExperiment(file));
const rows: { workers: number; wall: number; cells: number; planned: number; cpu: number }[] = [];
const stores: string[] = [];
for (const workers of [1, 2]) {
  const results = join(dir, `store-${workers}`);
  stores.push(results);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage(); // all threads of this process
  let tPlanned = 0;
  const s = await Effect.runPromise(
    runExperiment(loaded, {
      results,
      workers,
      onEvent: (e) => {
        if (e._tag === "planned") tPlanned = performance.now();
      },
    }),
  );
  const wall = (performance.now() - t0) / 1000;
  const used = process.cpuUsage(cpu0);
  const cellSeconds = s.cells.reduce((a, c) => a + (c.seconds ?? 0), 0);
  rows.push({
    workers,
    wall,
    cells: cellSeconds,
    planned: (tPlanned - t0) / 1000,
    cpu: (used.user + used.system) / 1e6,
  });
  console.error(`workers ${workers}: ${s.cells.length} cells in ${wall.toFixed(2)} s`);
}

const files = (d: string) =>
  readdirSync(join(d, "cells"))
    .filter((f) => f.endsWith(".json"))
    .sort();
const [a, b] = stores as [string, string];
const same =
  files(a).join() === files(b).join() &&
  files(a).every((f) => readFileSync(join(a, "cells", f)).equals(readFileSync(join(b, "cells", f))));

const base = rows[0]!.wall;
console.log(
  `\nsweep: 8 cells, builtin:induction, exact patching of all 81 edges, n 64 — ${cpus().length} cores, ${cpus()[0]?.model ?? "?"}`,
);
console.log("workers  wall (s)  planning (s)  sum of cell times (s)  CPU (s)  cores busy  speed-up");
for (const r of rows)
  console.log(
    `${String(r.workers).padStart(7)}  ${r.wall.toFixed(2).padStart(8)}  ${r.planned.toFixed(2).padStart(12)}  ${r.cells.toFixed(2).padStart(21)}  ${r.cpu.toFixed(2).padStart(7)}  ${(r.cpu / r.wall).toFixed(2).padStart(10)}  ${(base / r.wall).toFixed(2).padStart(7)}×`,
  );
console.log(
  `load average (1 min) at the end: ${loadavg()[0]!.toFixed(2)} — other processes on these cores slow the pool down; "cores busy" < workers means it did not get them`,
);
console.log(`cell files byte-identical across the two runs: ${same ? "yes" : "NO"}`);
rmSync(dir, { recursive: true, force: true });
if (!same) process.exitCode = 1;
