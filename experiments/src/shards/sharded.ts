import { mergeShards } from "@patchbay/circuits";
import { attempt, InputError } from "@patchbay/core/errors";
import { Effect } from "effect";
import type { RedisExecutorOptions } from "../distributed/queue.ts";
import type { ExecutorFailure } from "../pool/executor.ts";
import type { CellError } from "../run/cell-errors.ts";
import { shardJobs } from "./plan.ts";
import { runShardsOnQueue } from "./queue.ts";
import { runShardToStore } from "./run.ts";
import { releaseOpenedSetup } from "../batches/opened.ts";
import type { ShardSpec } from "./spec.ts";
import { readShard } from "./store.ts";

/** A sharded scoring run: a shard's spec without its index. */
export type ShardedSpec = Omit<ShardSpec, "kind" | "index">;

export interface ShardedOptions {
  /** the results store the shards are kept in (shared with the workers when distributed) */
  readonly results: string;
  /** compute the shards on this queue's workers (`patchbay worker`); default: here, one after another */
  readonly redis?: RedisExecutorOptions;
}

export interface ShardedScores {
  /** [units] in unit order: exact, the edges' scores; node patching, the sources'; path patching, the paths' */
  readonly scores: Float64Array;
  /** the shards' ids, in order (their files are `<results>/shards/<id>.json`) */
  readonly shardIds: readonly string[];
  /** shards computed by this call here (0 when distributed, or when the store had them all) */
  readonly computed: number;
}

/**
 * Exact, node or path patching in `shards` shards, each kept in the results store as it
 * finishes, computed here one after another or on a Redis queue's workers, then merged: the
 * same bytes either way, since both compute the same shards. A method that does not shard, a
 * shard count outside [1, units] or a spec that is not whole is an InputError before any shard runs.
 *
 * Returns `{ scores, shardIds, computed }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { Effect } from "effect";
 * import { shardedScores } from "@patchbay/experiments";
 * const results = mkdtempSync(join(tmpdir(), "shards-"));
 * const spec = {
 *   model: "builtin:induction",
 *   task: { kind: "builtin", builtin: "builtin:induction", n: 2, seed: 0, options: {} },
 *   ablation: "resample", metric: "logit-diff", granularity: "head", runtime: { threads: 1 },
 *   method: { _tag: "node-patching" }, shards: 3,
 * } as const;
 * const first = await Effect.runPromise(shardedScores({ spec, baseDir: results }, { results }));
 * const again = await Effect.runPromise(shardedScores({ spec, baseDir: results }, { results }));
 * assert.equal(first.computed, 3);
 * assert.equal(again.computed, 0); // every shard was in the store
 * assert.deepEqual([...again.scores], [...first.scores]);
 * ```
 */
export const shardedScores = (
  input: { readonly spec: ShardedSpec; readonly baseDir: string },
  opts: ShardedOptions,
): Effect.Effect<ShardedScores, CellError | ExecutorFailure> =>
  Effect.gen(function* () {
    const { spec } = input;
    if (!Number.isInteger(spec.shards) || spec.shards < 1)
      return yield* new InputError({
        field: "shards",
        expected: "a whole number of shards ≥ 1",
        found: String(spec.shards),
      });
    const specs = Array.from(
      { length: spec.shards },
      (_, index): ShardSpec => ({ ...spec, kind: "shard", index }),
    );
    const jobs = yield* shardJobs(specs, input.baseDir, opts.results);
    let computed = 0;
    if (opts.redis !== undefined) yield* runShardsOnQueue(opts.redis, jobs, (j) => j);
    else
      yield* Effect.ensuring(
        Effect.forEach(jobs, (j) =>
          Effect.map(runShardToStore(j.input), (o) => {
            if (!o.skipped) computed++;
          }),
        ),
        releaseOpenedSetup, // the shards shared one opened setup; this process does not keep it
      );
    const shards = jobs.map((j) => readShard(opts.results, j.cellId));
    const missing = shards.indexOf(null);
    if (missing >= 0)
      return yield* new InputError({
        field: `shards[${missing}]`,
        expected: `its file in ${opts.results}/shards (written by the run that computed it)`,
        found: "no readable file",
      });
    const scores = yield* attempt(() => mergeShards(shards.map((s) => s!)), InputError);
    return { scores, shardIds: jobs.map((j) => j.cellId), computed };
  });
