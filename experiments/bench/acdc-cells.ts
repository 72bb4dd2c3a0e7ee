/**
 * `pnpm bench:acdc-cells`: a sweep of 3 ACDC cells with `split: 2` run with the Redis executor on
 * 2 `patchbay worker`s, the cells' coordinators one after another (acdcCells 1, the default)
 * against up to 3 at once (acdcCells 3). Two sweeps: over task.seed (3 edge setups, which
 * splitAcdcHere runs one after another whatever acdcCells: a worker holds one setup at a time)
 * and over tau (one setup: its 3 cells at once). Each timed
 * run uses a queue of its own (finished parts stay on a queue for ten minutes and would be read
 * back, not computed); prints the wall times and whether every cell is byte-identical to a local
 * run. Needs redis-server on the PATH; run it alone on the machine (it keeps 2 cores busy).
 *
 * Knobs (environment): BENCH_ACDC_MODEL (default stories260K), BENCH_ACDC_N (examples, default 4),
 * BENCH_ACDC_BLOCK (induction block length, default 15: 31 tokens), BENCH_ACDC_TAU (default 0.01),
 * BENCH_ACDC_SWEEPS (default "seeds,taus").
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { Effect } from "effect";
import { loadExperiment, redisExecutor, runExperiment } from "../src/index.ts";
import { redisBin, redisWorld } from "../src/distributed/test-support.ts";

if (redisBin === "") {
  console.error("bench:acdc-cells needs redis-server on the PATH (apt-get install redis-server)");
  process.exit(1);
}
const world = redisWorld("bench-acdc-cells");
const model =
  process.env.BENCH_ACDC_MODEL ??
  join(import.meta.dirname, "..", "..", "..", "shared", "models", "stories260K", "stories260K.bin");
const n = Number(process.env.BENCH_ACDC_N ?? 4);
const block = Number(process.env.BENCH_ACDC_BLOCK ?? 15);
const tau = Number(process.env.BENCH_ACDC_TAU ?? 0.01);

const sweepFile = (name: string, axis: string) => {
  const file = join(world.dir, `${name}.yaml`);
  writeFileSync(
    file,
    [
      `name: ${name}`,
      `model: ${JSON.stringify(model)}`,
      `task: { builtin: builtin:induction, n: ${n}, options: { blockLen: ${block} } }`,
      "metric: kl",
      "granularity: head-qkv",
      `method: { _tag: acdc, tau: ${tau}, split: 2 }`,
      "evaluation: { spearmanSample: 0, curve: false }",
      "sweep:",
      `  grid: { ${axis} }`,
      "",
    ].join("\n"),
  );
  return file;
};
const same = (a: string, b: string) => {
  const names = readdirSync(join(a, "cells")).sort();
  return (
    names.length === readdirSync(join(b, "cells")).length &&
    names.every((f) => readFileSync(join(a, "cells", f)).equals(readFileSync(join(b, "cells", f))))
  );
};

await world.setup();
let ok = true;
try {
  const sweeps = (
    [
      ["seeds", "task.seed: [0, 1, 2]"],
      ["taus", `method.tau: [${tau / 2}, ${tau}, ${tau * 2}]`],
    ] as const
  ).filter(([name]) => (process.env.BENCH_ACDC_SWEEPS ?? "seeds,taus").split(",").includes(name));
  console.log(
    `3 ACDC cells (split 2, KL, speculate 16), ${n} examples × ${1 + 2 * block} tokens, head-qkv edges of ${model}`,
  );
  console.log("sweep   local (1 process)  acdcCells 1  acdcCells 3  byte-identical");
  for (const [name, axis] of sweeps) {
    const loaded = await Effect.runPromise(loadExperiment(sweepFile(name, axis)));
    const time = async (results: string, executor?: ReturnType<typeof redisExecutor>) => {
      const t = performance.now();
      await Effect.runPromise(
        runExperiment(loaded, { results, ...(executor === undefined ? {} : { executor }) }),
      );
      return (performance.now() - t) / 1000;
    };
    const local = join(world.dir, `${name}-local`);
    const tLocal = await time(local);
    const row: string[] = [];
    for (const cells of [1, 3]) {
      const queue = `bench-${name}-${cells}`;
      const ws = await world.workers(2, ["--queue", queue]);
      const results = join(world.dir, `${name}-${cells}`);
      const load = loadavg()[0]!.toFixed(1);
      const s = await time(results, redisExecutor({ redis: world.url(), queue, acdcCells: cells }));
      await world.stop(ws);
      // the workers' busy share: the parts' own times (their log lines) over 2 × the wall time
      const busy = ws
        .flatMap((w) => [...w.out().matchAll(/^done batch \S+ in ([\d.]+) s/gm)])
        .reduce((a, m) => a + Number(m[1]), 0);
      const identical = same(local, results);
      ok &&= identical;
      row.push(
        `${s.toFixed(2)} s, workers ${((100 * busy) / (2 * s)).toFixed(0)}% busy (load ${load})${identical ? "" : " DIFFERENT"}`,
      );
    }
    console.log(`${name.padEnd(7)} ${`${tLocal.toFixed(2)} s`.padStart(10)}  ${row.join("  ")}  ${ok}`);
  }
} finally {
  await world.teardown();
}
process.exit(ok ? 0 : 1);
