import type { ShardMethod } from "@patchbay/circuits";
import type { Granularity } from "@patchbay/core/edges";
import type { MetricKind } from "@patchbay/core/engine";
import type { EdgeAblation } from "@patchbay/core/patching";
import { setupSpecOf } from "./batches.ts";
import { cellIdOf } from "../../run/hash.ts";
import type { CircuitCellSpec } from "./spec.ts";

/**
 * A shard as data: what the shard scores (model, task, ablation, metric, granularity, threads,
 * method) and which part (shard `index` of `shards`; the units it covers follow from these).
 * Its id hashes this spec with the weights, the data and the patchbay version, as a cell id does,
 * so a shard is computed once into the store (`<results>/shards/<id>.json`) whoever asks for it.
 * A circuit cell with `method: {_tag: exact, shards: k}` has k of these; node and path patching
 * shard through `shardedScores` (experiments/src/shards).
 */
export interface ShardSpec {
  readonly kind: "shard";
  readonly model: string;
  readonly task: CircuitCellSpec["task"];
  readonly ablation: EdgeAblation;
  readonly metric: MetricKind;
  readonly granularity: Granularity;
  readonly runtime: { readonly threads: number };
  readonly method: ShardMethod;
  readonly shards: number;
  readonly index: number;
}

/** The id of a shard: its spec, weights, data and version hashed as a cell's are. */
export const shardIdOf = (spec: ShardSpec, weights: string, dataset: string, version: string): string =>
  cellIdOf(spec, weights, dataset, version);

/** The shards of a circuit cell: k for exact patching with `shards: k`, none otherwise. */
export const shardsOfCell = (spec: CircuitCellSpec): readonly ShardSpec[] => {
  const m = spec.method;
  if (m._tag !== "exact" || m.shards === undefined) return [];
  const of = m.shards;
  return Array.from({ length: of }, (_, index) => ({
    kind: "shard",
    ...setupSpecOf(spec),
    method: { _tag: "exact" },
    shards: of,
    index,
  }));
};
