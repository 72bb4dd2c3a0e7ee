import { RuntimeError } from "@patchbay/core/errors";
import { type Flags, intFlag, required } from "@patchbay/core/cli";
import { Effect } from "effect";
import { applyHttpAccessFlags } from "../cli/http-access.ts";
import { errorInfo } from "../pool/executor.ts";
import { safeUrl } from "./queue.ts";
import { startQueueWorker } from "./worker.ts";

/**
 * `patchbay worker --redis URL [--concurrency N] [--queue NAME]`: a queue worker that runs until
 * SIGINT / SIGTERM (then finishes its running cells, at most --grace seconds). Progress on stderr.
 * Its flags and usage are in cli/commands.ts.
 */
export const workerCommand = (f: Flags) =>
  Effect.gen(function* () {
    const redis = required(f, "redis");
    applyHttpAccessFlags(f);
    const concurrency = intFlag(f, "concurrency", 1, 1);
    const lock = intFlag(f, "lock-ms", 30_000, 100);
    const stalled = intFlag(f, "stalled-ms", 30_000, 100);
    const grace = intFlag(f, "grace", 30, 0);
    const log = (line: string) => process.stderr.write(`${line}\n`);
    const w = yield* Effect.tryPromise({
      try: () =>
        startQueueWorker({
          redis,
          concurrency,
          lockDurationMs: lock,
          stalledIntervalMs: stalled,
          ...(typeof f.queue === "string" ? { queue: f.queue } : {}),
          log,
        }),
      catch: (e) =>
        new RuntimeError({
          model: safeUrl(redis),
          operation: "starting the queue worker",
          cause: errorInfo(e).message,
        }),
    });
    yield* Effect.async<void>((resume) => {
      const stop = (signal: string) => {
        log(`${signal}: stopping after the running cells (at most ${grace} s)`);
        void w.close(grace * 1000).finally(() => {
          // closed: with Redis gone, BullMQ's blocking connection may still be retrying to
          // connect; that timer must not keep a stopped worker alive
          setTimeout(() => process.exit(process.exitCode ?? 0), 1000).unref();
          resume(Effect.void);
        });
      };
      process.once("SIGINT", () => stop("SIGINT"));
      process.once("SIGTERM", () => stop("SIGTERM"));
    });
  });
