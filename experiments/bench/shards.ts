/**
 * `pnpm bench:shards`: one exact-patching run (every edge of stories260K, the llama2.c checkpoint
 * in ../shared/models) in shards, computed here one shard after another, then by 2 `patchbay
 * worker` processes on one local redis-server; prints both wall times side by side, the speed-up
 * and whether the scores are byte-identical. Needs redis-server on the PATH. Run it alone on the
 * machine (it keeps 2 cores busy).
 *
 * Knobs (environment): BENCH_SHARDS_MODEL (a model path; default stories260K), BENCH_SHARDS_N
 * (examples, default 16), BENCH_SHARDS_BLOCK (induction block length, default 8: 17 tokens),
 * BENCH_SHARDS_K (shards, default 4: two per worker; a worker opens the model and builds its sessions
 * for its first shard and keeps them for the next), BENCH_SHARDS_GRANULARITY (head | head-qkv | layer; default head).
 * Then ACDC with its speculative batches on the same workers (batches/), local against the queue,
 * unsplit and split in 2: BENCH_SHARDS_ACDC=0 skips it; BENCH_ACDC_N (examples, default 4),
 * BENCH_ACDC_BLOCK (default 15: 31 tokens, the most the induction task allows), BENCH_ACDC_TAU (default 0.01; KL).
 * BENCH_SHARDS_EXACT=0 skips the exact-patching part, BENCH_ACDC_SPLITS (default 1,2) picks the
 * splits, BENCH_ACDC_WARM=0 skips ACDC's untimed warm-up (for long runs: GPT-2 at a small τ).
 * A quick check that it works: BENCH_SHARDS_N=2 BENCH_SHARDS_K=2 BENCH_SHARDS_GRANULARITY=layer.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Granularity } from "@patchbay/core/edges";
import { Queue } from "bullmq";
import { Effect } from "effect";
import type { AcdcResult } from "@patchbay/circuits";
import { distributedAcdc, type ShardedSpec, shardedScores } from "../src/index.ts";
import { freePort } from "../src/distributed/test-support.ts";
import { connectionOf, DEFAULT_QUEUE } from "../src/distributed/queue.ts";

const repo = fileURLToPath(new URL("../../", import.meta.url));
const main = fileURLToPath(new URL("../src/cli/main.ts", import.meta.url));
const model =
  process.env.BENCH_SHARDS_MODEL ?? join(repo, "..", "shared", "models", "stories260K", "stories260K.bin");
const n = Number(process.env.BENCH_SHARDS_N ?? 16);
const block = Number(process.env.BENCH_SHARDS_BLOCK ?? 8);
const shards = Number(process.env.BENCH_SHARDS_K ?? 4);
const granularity = (process.env.BENCH_SHARDS_GRANULARITY ?? "head") as Granularity;

const redisBin = spawnSync("sh", ["-c", "command -v redis-server"], { encoding: "utf8" }).stdout.trim();
if (redisBin === "") {
  console.error("bench:shards needs redis-server on the PATH (apt-get install redis-server)");
  process.exit(1);
}

const dir = mkdtempSync(join(tmpdir(), "patchbay-bench-shards-"));
const children: ChildProcess[] = [];
const running = (c: ChildProcess) => c.exitCode === null && c.signalCode === null;
process.on("exit", () => {
  for (const c of children) if (running(c)) c.kill("SIGKILL");
});
/** SIGTERM `c` and wait for it to exit; SIGKILL it after `ms`. */
const terminate = (c: ChildProcess, ms: number) =>
  new Promise<void>((resolve) => {
    if (!running(c)) return resolve();
    const t = setTimeout(() => c.kill("SIGKILL"), ms);
    c.once("exit", () => {
      clearTimeout(t);
      resolve();
    });
    c.kill("SIGTERM");
  });
/**
 * The workers first, while Redis still answers (a worker closes its queue connections by talking
 * to Redis), then Redis. Stopping them all at once left workers reconnecting to a Redis that had
 * already exited, and this process waiting on them for minutes.
 */
const shutdown = async () => {
  const [redis, ...workers] = children;
  await Promise.all(workers.map((w) => terminate(w, 15_000)));
  if (redis !== undefined) await terminate(redis, 5000);
};

/** Each started process's output so far. */
const outputs = new Map<ChildProcess, string>();
/** Start a process; resolve once `ready` appears in its output. */
const startUntil = (cmd: string, args: readonly string[], ready: RegExp, what: string) =>
  new Promise<ChildProcess>((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: repo, stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    let text = "";
    outputs.set(child, "");
    const t = setTimeout(() => reject(new Error(`${what} not ready within 60 s:\n${text}`)), 60_000);
    const on = (d: Buffer) => {
      text += d.toString();
      outputs.set(child, text);
      if (ready.test(text)) {
        clearTimeout(t);
        resolve(child);
      }
    };
    child.stdout!.on("data", on);
    child.stderr!.on("data", on);
    child.once("exit", (code) => reject(new Error(`${what} exited (${code}):\n${text}`)));
  });

const spec: ShardedSpec = {
  model,
  task: { kind: "builtin", builtin: "builtin:induction", n, seed: 0, options: { blockLen: block } },
  ablation: "resample",
  metric: "logit-diff",
  granularity,
  runtime: { threads: 1 },
  method: { _tag: "exact" },
  shards,
};
const input = { spec, baseDir: dir };

const port = await freePort();
const redisDir = join(dir, "redis");
mkdirSync(redisDir);
await startUntil(
  redisBin,
  ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", redisDir],
  /Ready to accept connections/,
  "redis-server",
);
const url = `redis://127.0.0.1:${port}`;
// workers first: their start-up (TypeScript, ORT) is paid once per machine, not per run
const workers = await Promise.all(
  [0, 1].map((i) =>
    startUntil(
      process.execPath,
      ["--import", "tsx", main, "worker", "--redis", url],
      /ready on redis:/,
      `worker ${i}`,
    ),
  ),
);

let same = true;
if (process.env.BENCH_SHARDS_EXACT !== "0") {
  const t0 = performance.now();
  const local = await Effect.runPromise(shardedScores(input, { results: join(dir, "local") }));
  const tLocal = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  const dist = await Effect.runPromise(
    shardedScores(input, { results: join(dir, "shared"), redis: { redis: url, pollMs: 100 } }),
  );
  const tDist = (performance.now() - t1) / 1000;
  same = Buffer.from(local.scores.buffer).equals(Buffer.from(dist.scores.buffer));

  console.log(
    `\nexact patching, ${local.scores.length} edges (${granularity}) of ${model}, ${n} examples × ${1 + 2 * block} tokens, ${shards} shards — ${cpus().length} cores, load ${loadavg()[0]!.toFixed(2)}`,
  );
  console.log("                      wall (s)  edges/s");
  console.log(
    `local (1 process)   ${tLocal.toFixed(2).padStart(9)}  ${(local.scores.length / tLocal).toFixed(1).padStart(7)}`,
  );
  console.log(
    `2 workers on redis  ${tDist.toFixed(2).padStart(9)}  ${(dist.scores.length / tDist).toFixed(1).padStart(7)}`,
  );
  console.log(`speed-up ${(tLocal / tDist).toFixed(2)}×; scores byte-identical: ${same}`);
  // each worker keeps the opened setup across the shards of a cell: its first shard opens the model
  // and compiles the sessions, the later ones reuse them
  const shardTimes = workers.map((w) =>
    [...(outputs.get(w) ?? "").matchAll(/^done shard \S+ in ([\d.]+) s/gm)].map((m) => Number(m[1])),
  );
  console.log(
    `shard job times per worker (s; the first opens the setup, later ones reuse it): ${shardTimes
      .map((t, i) => `worker ${i}: ${t.map((x) => x.toFixed(2)).join(", ")}`)
      .join("; ")}`,
  );
}

// ACDC with its speculative batches on the same 2 workers (batches/): local against the queue,
// unsplit (one job per batch) and split in 2 (the two halves on the two workers at once)
let acdcSame = true;
if (process.env.BENCH_SHARDS_ACDC !== "0") {
  const an = Number(process.env.BENCH_ACDC_N ?? 4);
  const ablock = Number(process.env.BENCH_ACDC_BLOCK ?? 15);
  const tau = Number(process.env.BENCH_ACDC_TAU ?? 0.01);
  const base = {
    model,
    task: { kind: "builtin", builtin: "builtin:induction", n: an, seed: 0, options: { blockLen: ablock } },
    ablation: "resample",
    metric: "kl",
    granularity,
    runtime: { threads: 1 },
  } as const;
  const time = async <A>(f: () => Promise<A>) => {
    const t = performance.now();
    const r = await f();
    return { r, s: (performance.now() - t) / 1000 };
  };
  const bytes = (r: AcdcResult) =>
    JSON.stringify(r, (_k, x: unknown) => (ArrayBuffer.isView(x) ? Array.from(x as Float64Array) : x));
  console.log(
    `\nACDC (KL, τ = ${tau}, speculate 16), ${an} examples × ${1 + 2 * ablock} tokens, ${granularity} edges of ${model} — load ${loadavg()[0]!.toFixed(2)}`,
  );
  console.log("                              wall (s)  masks  runs  kept  byte-identical to local");
  // warm-up, not timed: this process's first ACDC (ORT's first runs) and the workers' first
  // batches (each opens the setup once and keeps it, as a long-lived worker does)
  const warm = { spec: { ...base, acdc: { tau, split: 2 } }, baseDir: dir };
  if (process.env.BENCH_ACDC_WARM !== "0") {
    await Effect.runPromise(distributedAcdc(warm, {}));
    await Effect.runPromise(distributedAcdc(warm, { redis: { redis: url } }));
  }
  for (const split of (process.env.BENCH_ACDC_SPLITS ?? "1,2").split(",").map(Number)) {
    const inputA = { spec: { ...base, acdc: { tau, split } }, baseDir: dir };
    // finished parts stay on the queue (batches/await-part.ts) and would be read back: forget them
    const queue = new Queue(DEFAULT_QUEUE, { connection: connectionOf(url) });
    await queue.clean(0, 1_000_000, "completed");
    await queue.close();
    const here = await time(() => Effect.runPromise(distributedAcdc(inputA, {})));
    const there = await time(() => Effect.runPromise(distributedAcdc(inputA, { redis: { redis: url } })));
    const same = bytes(here.r) === bytes(there.r);
    acdcSame &&= same;
    const row = (label: string, x: { r: AcdcResult; s: number }, s: string) =>
      console.log(
        `${label.padEnd(28)} ${x.s.toFixed(2).padStart(9)}  ${String(x.r.forwardPasses).padStart(5)}  ${String(x.r.runs).padStart(4)}  ${String(x.r.unpruned.reduce((a, b) => a + b, 0)).padStart(4)}  ${s}`,
      );
    row(`local, split ${split}`, here, "—");
    row(`2 workers, split ${split}`, there, String(same));
    console.log(`  speed-up (split ${split}) ${(here.s / there.s).toFixed(2)}×`);
  }
}
const t2 = performance.now();
await shutdown();
console.log(`shut down in ${((performance.now() - t2) / 1000).toFixed(2)} s`);
rmSync(dir, { recursive: true, force: true });
process.exit(same && acdcSame ? 0 : 1);
