import { type AcdcOptions, type AcdcResult, acdc } from "@patchbay/circuits";
import type { ConfigError, InputError, RuntimeError } from "@patchbay/core/errors";
import { Effect } from "effect";
import type { RedisExecutorOptions } from "../distributed/queue.ts";
import { setupSpecOf } from "../kinds/circuit/batches.ts";
import { hashWeights, openCircuitSetup, type SetupSpec } from "../kinds/circuit/cell.ts";
import type { ExecutorFailure } from "../pool/executor.ts";
import type { CellError } from "../run/cell-errors.ts";
import { datasetHash, patchbayVersion } from "../run/hash.ts";
import { queueRows } from "./queue.ts";
import { setupIdOf } from "./spec.ts";

/** A distributed ACDC run: the edge setup, and ACDC's options (no checkpoint: that is the coordinator's). */
export interface DistributedAcdcSpec extends SetupSpec {
  readonly acdc: Omit<AcdcOptions, "checkpoint" | "stopAfterReceivers">;
}

export interface DistributedAcdcOptions {
  /** evaluate the batches on this queue's workers (`patchbay worker`); default: here */
  readonly redis?: RedisExecutorOptions;
  /** ACDC's checkpoint, kept here by the coordinator (resumed from when it exists) */
  readonly checkpoint?: string;
}

/**
 * ACDC whose speculative batches are evaluated by a Redis queue's workers: the ACDC loop (its
 * decisions and its checkpoint) runs here; each batch, in `acdc.split` parts, goes to the queue,
 * one job per part; the workers keep the setup and its sessions across the batches. Without
 * `redis` the parts are evaluated here, one after another. The result is the same bits either
 * way, since a part is measured by the same function on the same rows.
 *
 * Returns circuits' AcdcResult `{ inGraph, deltas, tested, runs, forwardPasses, … }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Effect } from "effect";
 * import { distributedAcdc } from "@patchbay/experiments";
 * const spec = {
 *   model: "builtin:induction",
 *   task: { kind: "builtin", builtin: "builtin:induction", n: 2, seed: 0, options: {} },
 *   ablation: "resample", metric: "logit-diff", granularity: "head", runtime: { threads: 1 },
 *   acdc: { tau: 0.5, speculate: 4, split: 2 },
 * } as const;
 * // with { redis: { redis: "redis://127.0.0.1:6379" } } the parts run on the queue's workers
 * const r = await Effect.runPromise(distributedAcdc({ spec, baseDir: "." }, {}));
 * assert.equal(r.inGraph.length, 81);
 * assert.ok(r.forwardPasses > 0);
 * ```
 */
export const distributedAcdc = (
  input: { readonly spec: DistributedAcdcSpec; readonly baseDir: string },
  opts: DistributedAcdcOptions,
): Effect.Effect<AcdcResult, CellError | ConfigError | InputError | RuntimeError | ExecutorFailure> =>
  Effect.scoped(
    Effect.gen(function* () {
      const { model, task, setup } = yield* openCircuitSetup(input);
      const acdcOpts: AcdcOptions = {
        ...input.spec.acdc,
        ...(opts.checkpoint === undefined ? {} : { checkpoint: opts.checkpoint }),
      };
      if (opts.redis === undefined) return yield* acdc(setup, acdcOpts);
      const setupId = setupIdOf(input.spec, hashWeights(model), datasetHash(task), patchbayVersion());
      const entries = setup.layout.sources.length * setup.layout.destinations.length;
      const rows = yield* queueRows(
        opts.redis,
        { spec: setupSpecOf(input.spec), baseDir: input.baseDir, setupId, entries },
        setup.N,
        Math.max(1, input.spec.acdc.split ?? 1),
      );
      return yield* acdc(setup, acdcOpts, rows);
    }),
  );
