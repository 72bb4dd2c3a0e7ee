import { SHARDED_METHODS, shardRange, shardUnits } from "@patchbay/circuits";
import { edgeLayout } from "@patchbay/core/edges";
import { attempt, InputError } from "@patchbay/core/errors";
import { openModel } from "@patchbay/core/runtime";
import { Effect } from "effect";
import type { CircuitCellSpec } from "../kinds/circuit/spec.ts";
import { hashWeights, loadTask, modelPathOf } from "../kinds/circuit/cell.ts";
import type { CellJob } from "../pool/executor.ts";
import type { CellError } from "../run/cell-errors.ts";
import { datasetHash, patchbayVersion } from "../run/hash.ts";
import { type ShardJob, type ShardSpec, shardIdOf, shardsOfCell } from "./spec.ts";

/**
 * The jobs of some shards: their ids need the weights and data hashed (the model's weights and
 * the task are loaded once, no ORT session), as a cell's id does.
 */
export const shardJobs = (
  specs: readonly ShardSpec[],
  baseDir: string,
  results: string,
): Effect.Effect<readonly ShardJob[], CellError> =>
  specs.length === 0
    ? Effect.succeed([])
    : Effect.scoped(
        Effect.gen(function* () {
          const first = { spec: specs[0]!, baseDir };
          const model = yield* openModel(modelPathOf(first), { threads: first.spec.runtime.threads });
          const task = yield* loadTask(first, model);
          for (const spec of specs)
            if (!(SHARDED_METHODS as readonly string[]).includes(spec.method._tag))
              return yield* new InputError({
                field: "method",
                expected: `a method that shards: ${SHARDED_METHODS.join(", ")} (ACDC's receivers depend on each other)`,
                found: JSON.stringify(spec.method._tag),
              });
          // every shard must cover at least one unit: a bad count or index fails here, before any is queued
          const units = shardUnits(
            { layout: edgeLayout(model.config, first.spec.granularity) },
            first.spec.method,
          );
          for (const spec of specs)
            yield* attempt(() => shardRange(units, spec.index, spec.shards), InputError);
          const w = hashWeights(model);
          const d = datasetHash(task);
          const v = patchbayVersion();
          return specs.map((spec): ShardJob => {
            const id = shardIdOf(spec, w, d, v);
            return {
              shard: true,
              index: spec.index,
              cellId: id,
              input: { spec, baseDir, results, cellId: id },
            };
          });
        }),
      );

/** A cell's shard jobs: exact patching with `shards: k` has k, every other cell none. */
export const shardJobsOfCell = (job: CellJob): Effect.Effect<readonly ShardJob[], CellError> => {
  const spec = job.input.spec as CircuitCellSpec & { readonly kind?: string };
  if (spec.kind !== undefined && spec.kind !== "circuit") return Effect.succeed([]);
  return shardJobs(shardsOfCell(spec), job.input.baseDir, job.input.results);
};
