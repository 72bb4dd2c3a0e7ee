/**
 * patchbay — the one package to install. It registers the model zoo (so `builtin:` paths work),
 * re-exports the Effect API of the scoped packages, and carries the Promise API beside it:
 * `open` a model, `run` / `runWithCache` / `patch` it, and the `circuits` and `causal` methods on it.
 */
import "@patchbay/zoo"; // registers builtin:<name> model paths with core

/** The Effect API of @patchbay/core, by namespace: `import { Engine, Sites } from "patchbay"`. */
export {
  Autodiff,
  Edges,
  Engine,
  Errors,
  Graph,
  Hub,
  Model,
  Optim,
  Patching,
  Reference,
  Runtime,
  Sites,
  Tensor,
  Text,
  Tokenizer,
  Transformer,
  Weights,
} from "@patchbay/core";

export { openModel } from "@patchbay/core/runtime";
export type { HostTensor } from "@patchbay/core/tensor";
export type { ModelConfig } from "@patchbay/core/model";
export type { Target } from "@patchbay/core/engine";

export { ModelClosedError } from "./api/errors.ts";
export type { InterventionInput, MetricInput } from "./api/interventions.ts";
export { open, type OpenOptions, type PatchbayModel } from "./api/model.ts";
export type { PatchOptions, PatchResult, Prompt } from "./api/patch.ts";
export type { CacheResult, Input, RunOptions, RunResult } from "./api/run.ts";
export * as causal from "./api/causal.ts";
export * as circuits from "./api/circuits.ts";
