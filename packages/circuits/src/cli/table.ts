import {
  type CommandSpec,
  compileCacheFlag,
  EDGE_ABLATIONS,
  GRANULARITIES,
  METRIC_KINDS,
  modelChoices,
} from "@patchbay/core/cli/table";
import { ACDC_ORDERS } from "../methods/names.ts";
import { CIRCUIT_METHODS } from "./choices.ts";

/**
 * `@patchbay/circuits/cli/table`: `patchbay circuit` as a command table entry (flags, usage, the
 * lists of its choices), data only; circuit.ts, the implementation, is imported when it runs.
 */

export { ACDC_ORDERS, METHOD_TAGS } from "../methods/names.ts";
export { CIRCUIT_METHODS } from "./choices.ts";

export const circuitFlags = {
  model: "string",
  tokenizer: "string",
  threads: "string",
  ep: "string",
  json: "boolean",
  task: "string",
  n: "string",
  seed: "string",
  method: "string",
  steps: "string",
  tau: "string",
  order: "string",
  metric: "string",
  ablation: "string",
  granularity: "string",
  top: "string",
  out: "string",
  ...compileCacheFlag,
} as const;

const alts = (xs: readonly string[]) => xs.join("|");

export const circuitUsage = `circuit --model M [--task FILE.jsonl [--tokenizer T] | (builtin task) --n N] [--seed S] [--method ${alts(CIRCUIT_METHODS)}] [--steps K (eap-ig*)] [--tau T --order ${alts(ACDC_ORDERS)} (acdc)] [--metric ${alts(METRIC_KINDS)}] [--ablation ${alts(EDGE_ABLATIONS)}] [--granularity ${alts(GRANULARITIES)}] [--top N (not acdc; default: smallest circuit with faithfulness ≥ 0.9)] [--out DIR] [--compile-cache DIR] [--json]`;

export const circuitChoices = {
  ...modelChoices,
  method: { values: CIRCUIT_METHODS, default: "eap-ig", about: "eap-ig is eap-ig-inputs" },
  order: { values: ACDC_ORDERS, default: "normal", about: "ACDC's parent order" },
  metric: { values: METRIC_KINDS, default: "logit-diff" },
  ablation: { values: EDGE_ABLATIONS, default: "resample", about: "what an ablated edge carries" },
  granularity: { values: GRANULARITIES, default: "head" },
} as const;

export const circuitSpec = {
  flags: circuitFlags,
  usage: circuitUsage,
  choices: circuitChoices,
  load: () => import("./circuit.ts").then((m) => m.circuitCommand),
} as const satisfies CommandSpec;
