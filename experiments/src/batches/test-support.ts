import type { AcdcResult } from "@patchbay/circuits";
import type { DistributedAcdcSpec } from "./acdc.ts";

/** A distributed ACDC on `model` with the induction task (n examples, seed 1), head edges, resample. */
export const acdcSpecOf = (model: string, acdc: DistributedAcdcSpec["acdc"], n = 4): DistributedAcdcSpec => ({
  model,
  task: { kind: "builtin", builtin: "builtin:induction", n, seed: 1, options: {} },
  ablation: "resample",
  metric: "logit-diff",
  granularity: "head",
  runtime: { threads: 1 },
  acdc,
});

/** An ACDC result as JSON, typed arrays as arrays: equal strings mean the same decisions and Δs. */
export const acdcJson = (r: AcdcResult) =>
  JSON.stringify(r, (_k, x: unknown) => (ArrayBuffer.isView(x) ? Array.from(x as Float64Array) : x));
