import type { ShardSpec } from "../kinds/circuit/shards.ts";

export { type ShardSpec, shardIdOf, shardsOfCell } from "../kinds/circuit/shards.ts";

/** A shard with the folder relative paths resolve against, the store and its id: a queue job's input. */
export interface ShardInput {
  readonly spec: ShardSpec;
  readonly baseDir: string;
  readonly results: string;
  /** the shard's id (shardIdOf); checked by the worker against the weights and data it loads */
  readonly cellId: string;
}

/** A shard on a queue or a thread: `shard: true` tells it from a cell job. */
export interface ShardJob {
  readonly shard: true;
  /** the shard's index */
  readonly index: number;
  /** the shard's id */
  readonly cellId: string;
  readonly input: ShardInput;
}
