import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Cause, Exit, Option } from "effect";
import { expect } from "vitest";
import type { CellFailedError } from "../pool/executor.ts";

/** A TCP port free on 127.0.0.1 right now (for a test's own redis-server). */
export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => (typeof a === "object" && a !== null ? resolve(a.port) : reject(new Error("no port"))));
    });
  });

/** Resolve when `pattern` appears in the child's output; reject after `ms` or when it exits. */
export const waitFor = (child: ChildProcess, out: () => string, pattern: RegExp, ms: number, what: string) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what}: not seen within ${ms} ms:\n${out()}`)), ms);
    const check = () => {
      if (pattern.test(out())) {
        clearTimeout(t);
        resolve();
      }
    };
    child.stdout?.on("data", check);
    child.stderr?.on("data", check);
    child.once("exit", (code, signal) => {
      clearTimeout(t);
      reject(new Error(`${what}: the process exited (${code ?? signal}):\n${out()}`));
    });
    check();
  });

/** redis-server's path, or "" when it is not installed (the redis tests are then skipped, loudly). */
export const redisBin = spawnSync("sh", ["-c", "command -v redis-server"], {
  encoding: "utf8",
}).stdout.trim();

/** A `patchbay` child process and what it wrote. */
export interface Proc {
  readonly child: ChildProcess;
  /** stdout and stderr as they came */
  readonly out: () => string;
  readonly stdout: () => string;
}

/** Resolve with the exit code once the child has exited; reject (naming it) after `ms`. */
export const exited = (child: ChildProcess, ms: number) =>
  new Promise<number | null>((resolve, reject) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
    const t = setTimeout(() => reject(new Error(`process ${child.pid} still running after ${ms} ms`)), ms);
    child.once("exit", (code) => {
      clearTimeout(t);
      resolve(code);
    });
  });

const repo = fileURLToPath(new URL("../../../", import.meta.url));
const main = fileURLToPath(new URL("../cli/main.ts", import.meta.url));

/**
 * One redis test file's world: a temp folder, a redis-server of its own on a free loopback port
 * (no persistence), and `patchbay` child processes (workers, runs) started against it. `setup`
 * in beforeAll, `teardown` in afterAll: the children get SIGTERM while Redis still answers (then
 * SIGKILL after 20 s), then Redis stops and the folder goes.
 */
export const redisWorld = (prefix: string) => {
  if (redisBin === "")
    console.warn(
      `\n*** redis-server not found: the ${prefix} (BullMQ) tests are SKIPPED — apt-get install redis-server ***\n`,
    );
  const dir = mkdtempSync(join(tmpdir(), `patchbay-${prefix}-`));
  const children: ChildProcess[] = [];
  let redis: ChildProcess | null = null;
  let url = "";
  /** `patchbay <args>` as a child process (node + tsx, from the repository's root) */
  const start = (args: readonly string[]): Proc => {
    const child = spawn(process.execPath, ["--import", "tsx", main, ...args], {
      cwd: repo,
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(child);
    let text = "";
    let stdout = "";
    child.stdout!.on("data", (d: Buffer) => {
      text += d.toString();
      stdout += d.toString();
    });
    child.stderr!.on("data", (d: Buffer) => {
      text += d.toString();
    });
    return { child, out: () => text, stdout: () => stdout };
  };
  /** SIGTERM, then SIGKILL whoever is still there after `ms` */
  const stop = async (procs: readonly { readonly child: ChildProcess }[], ms = 20_000) => {
    for (const p of procs)
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGTERM");
    await Promise.all(
      procs.map((p) =>
        exited(p.child, ms).catch(() => {
          p.child.kill("SIGKILL");
          return exited(p.child, 5000).catch(() => null);
        }),
      ),
    );
  };
  return {
    dir,
    /** the server's redis:// URL (after setup) */
    url: () => url,
    start,
    stop,
    /** `n` queue workers (concurrency 1, `extra` flags), resolved once each says it is ready */
    workers: async (n: number, extra: readonly string[] = []): Promise<Proc[]> => {
      const ws = Array.from({ length: n }, () =>
        start(["worker", "--redis", url, "--concurrency", "1", ...extra]),
      );
      await Promise.all(ws.map((w, i) => waitFor(w.child, w.out, /ready on redis:/, 30_000, `worker ${i}`)));
      return ws;
    },
    setup: async () => {
      const port = await freePort();
      const redisDir = join(dir, "redis");
      mkdirSync(redisDir);
      const r = spawn(
        redisBin,
        [
          "--port",
          String(port),
          "--bind",
          "127.0.0.1",
          "--save",
          "",
          "--appendonly",
          "no",
          "--dir",
          redisDir,
        ],
        { stdio: ["ignore", "pipe", "pipe"] },
      );
      redis = r;
      let text = "";
      r.stdout!.on("data", (d: Buffer) => {
        text += d.toString();
      });
      await waitFor(r, () => text, /Ready to accept connections/, 10_000, `redis-server in ${redisDir}`);
      url = `redis://127.0.0.1:${port}`;
    },
    teardown: async () => {
      await stop(children.map((child) => ({ child })));
      if (redis !== null) await stop([{ child: redis }], 5000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
};

/** The typed failure of an exit, or null. */
export const failureOf = <A, E>(exit: Exit.Exit<A, E>) =>
  Exit.isFailure(exit) ? Option.getOrNull(Cause.failureOption(exit.cause)) : null;

/**
 * The exit's failure, checked to be a CellFailedError "no-worker" whose message names the queue,
 * the Redis URL and the command that starts a worker on it.
 */
export const noWorkerFailure = <A, E>(exit: Exit.Exit<A, E>, url: string, queue: string): CellFailedError => {
  const e = failureOf(exit) as CellFailedError;
  expect(e).toMatchObject({ _tag: "CellFailedError", reason: "no-worker", cause: { _tag: "NoQueueWorker" } });
  expect(e.message).toContain(`no worker is serving queue ${queue} on ${url}`);
  expect(e.message).toContain(`patchbay worker --redis ${url} --queue ${queue}`);
  return e;
};
