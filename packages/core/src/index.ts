/**
 * @patchbay/core — public API. Everything a user or another package needs; internals stay in
 * their folders.
 */
export * from "./errors/index.ts";
export * from "./tensor/index.ts";
export * from "./model/index.ts";
export * from "./weights/index.ts";
export * from "./tokenizer/index.ts";
export * from "./text/index.ts";
export * from "./graph/index.ts";
export * from "./transformer/index.ts";
export * from "./runtime/index.ts";
export * from "./engine/index.ts";
export * from "./edges/index.ts";
export * from "./patching/index.ts";
export * from "./optim/index.ts";
export { referenceForward, type ReferenceOutput, type RefTensor } from "./reference/index.ts";
