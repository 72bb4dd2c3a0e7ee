export { greedy } from "./greedy.ts";
export { prune } from "./prune.ts";
export { rankKeys, rankOrder, type SelectOptions } from "./rank.ts";
export { byThreshold } from "./threshold.ts";
export { circuitAtFraction, edgesAtFraction, type FractionOptions, topN } from "./top-n.ts";
