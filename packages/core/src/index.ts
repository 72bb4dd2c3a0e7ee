/**
 * @patchbay/core — the public API, one namespace per concept. Each is also its own module:
 * `import { Engine } from "@patchbay/core"` and `import { runPlan } from "@patchbay/core/engine"`
 * reach the same functions. Folders not listed here (internal/, testing/, the folders' own
 * files) are not part of the API.
 */
export * as Errors from "./errors/index.ts";
export * as Tensor from "./tensor/index.ts";
export * as Text from "./text/index.ts";
export * as Model from "./model/index.ts";
export * as Sites from "./sites/index.ts";
export * as Graph from "./graph/index.ts";
export * as Hub from "./hub/index.ts";
export * as Weights from "./weights/index.ts";
export * as Tokenizer from "./tokenizer/index.ts";
export * as Reference from "./reference/index.ts";
export * as Optim from "./optim/index.ts";
export * as Transformer from "./transformer/index.ts";
export * as Autodiff from "./autodiff/index.ts";
export * as Runtime from "./runtime/index.ts";
export * as Edges from "./edges/index.ts";
export * as Engine from "./engine/index.ts";
export * as Patching from "./patching/index.ts";
