import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { ShardScores, ShardStore } from "@patchbay/circuits";
import { Effect } from "effect";
import { writeAtomic } from "../run/store.ts";

/**
 * Shards in the results store: `<results>/shards/<shardId>.json`, written atomically as each
 * finishes (run/store.ts), so a killed worker leaves every finished shard and at most a `.tmp-`
 * file. The file holds the shard's place and its scores as JSON numbers (shortest round-trip
 * form: the float64 bits come back exactly), and no timings: the same shard gives the same bytes.
 */
export const shardsDir = (results: string): string => join(results, "shards");

export const shardPath = (results: string, shardId: string): string =>
  join(shardsDir(results), `${shardId}.json`);

/** What a shard file holds. */
interface ShardFile {
  readonly shardId: string;
  readonly method: string;
  readonly index: number;
  readonly of: number;
  readonly units: number;
  readonly from: number;
  readonly to: number;
  readonly runs: number;
  readonly scores: readonly number[];
}

export const formatShard = (shardId: string, method: string, s: ShardScores): string =>
  `${JSON.stringify({
    shardId,
    method,
    index: s.index,
    of: s.of,
    units: s.units,
    from: s.from,
    to: s.to,
    runs: s.runs,
    scores: Array.from(s.scores),
  } satisfies ShardFile)}\n`;

const isInt = (x: unknown): x is number => Number.isInteger(x);

/**
 * A stored shard, or null when there is none (or the file is not a whole shard of this id: a
 * garbled file is computed again, as a garbled cell result is).
 */
export const readShard = (results: string, shardId: string): ShardScores | null => {
  const p = shardPath(results, shardId);
  if (!existsSync(p)) return null;
  try {
    const f = JSON.parse(readFileSync(p, "utf8")) as ShardFile;
    const ok =
      f.shardId === shardId &&
      [f.index, f.of, f.units, f.from, f.to, f.runs].every(isInt) &&
      Array.isArray(f.scores) &&
      f.scores.length === f.to - f.from &&
      f.scores.every((x) => typeof x === "number" && Number.isFinite(x));
    if (!ok) return null;
    return {
      index: f.index,
      of: f.of,
      units: f.units,
      from: f.from,
      to: f.to,
      runs: f.runs,
      scores: Float64Array.from(f.scores),
    };
  } catch {
    return null;
  }
};

/**
 * A circuits ShardStore over the results store: shard i is read from `ids[i]`'s file when it is
 * there (computed by a queue worker, or by an earlier, interrupted run), else computed and
 * written before the next one starts.
 */
export const storeShards =
  (results: string, ids: readonly string[], method: string): ShardStore =>
  (index, compute) =>
    Effect.gen(function* () {
      const id = ids[index]!;
      const kept = readShard(results, id);
      if (kept !== null) return kept;
      const s = yield* compute;
      writeAtomic(shardPath(results, id), formatShard(id, method, s));
      return s;
    });
