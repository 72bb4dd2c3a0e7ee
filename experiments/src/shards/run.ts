import { scoreShard } from "@patchbay/circuits";
import { InputError } from "@patchbay/core/errors";
import { Effect } from "effect";
import { openedSetup } from "../batches/opened.ts";
import type { CellOutcome } from "../run/cell.ts";
import type { CellError } from "../run/cell-errors.ts";
import { writeAtomic } from "../run/store.ts";
import { type ShardInput, shardIdOf } from "./spec.ts";
import { formatShard, readShard, shardPath } from "./store.ts";

/**
 * Compute one shard into the store (the job a queue worker or a thread runs for a shard): skip
 * it when `<results>/shards/<id>.json` is there; else open the model and make the task (once per
 * thread while the shards of one cell follow each other: batches/opened.ts), check the
 * id against the weights and data loaded (a model or task file changed since the id was made is
 * an InputError naming both ids), score the shard (circuits' scoreShard: the function the local
 * run calls) and write it atomically.
 *
 * Returns a CellOutcome `{ cellId: the shard's id, skipped, seconds, path }`.
 */
export const runShardToStore = (input: ShardInput): Effect.Effect<CellOutcome, CellError> =>
  Effect.scoped(
    Effect.gen(function* () {
      const t0 = performance.now();
      const path = shardPath(input.results, input.cellId);
      if (readShard(input.results, input.cellId) !== null)
        return { cellId: input.cellId, skipped: true, seconds: 0, path };
      const { spec } = input;
      const o = yield* openedSetup(input);
      const id = shardIdOf(spec, o.weightsHash, o.datasetHash, o.version);
      if (id !== input.cellId)
        return yield* new InputError({
          field: "shard id",
          expected: `${input.cellId} (the scheduler's id; model or task changed since?)`,
          found: id,
        });
      const s = yield* scoreShard(o.setup, spec.method, spec.index, spec.shards);
      writeAtomic(path, formatShard(id, spec.method._tag, s));
      return { cellId: id, skipped: false, seconds: (performance.now() - t0) / 1000, path };
    }),
  );
