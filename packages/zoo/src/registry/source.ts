import { registerModelSource } from "@patchbay/core/weights";
import { loadBuiltinSync } from "./cache.ts";

/**
 * `builtin:<name>[?options]` as a core model source: importing @patchbay/zoo registers it, and from
 * then on loadModel / loadModelSync / openModel accept the spec anywhere a model path is accepted.
 */
registerModelSource({ scheme: "builtin", format: "builtin", load: (path) => loadBuiltinSync(path) });
