import type { ShardedSpec } from "./sharded.ts";

/** Node patching of builtin:induction's head edges in 2 shards, on 2 induction examples (seed 0). */
export const nodePatchingInShards: ShardedSpec = {
  model: "builtin:induction",
  task: { kind: "builtin", builtin: "builtin:induction", n: 2, seed: 0, options: {} },
  ablation: "resample",
  metric: "logit-diff",
  granularity: "head",
  runtime: { threads: 1 },
  method: { _tag: "node-patching" },
  shards: 2,
};
