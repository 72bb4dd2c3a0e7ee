/**
 * @patchbay/readouts — the surveys' other families of methods (docs/methods.md#readouts), all on the
 * shared intervention engine: vocabulary-space decoding (logit and tuned lens, Patchscopes), input
 * attribution and direct logit attribution, attention patterns and rollout, linear probes with
 * control tasks, steering and linear erasure, neuron explanations (explain → simulate → score),
 * and sparse autoencoders.
 */
export * from "./lens/index.ts";
export * from "./patchscopes/index.ts";
export * from "./attribution/index.ts";
export * from "./probing/index.ts";
export * from "./steering/index.ts";
export * from "./neurons/index.ts";
export * from "./sae/index.ts";
export { asIssue } from "./options.ts";
