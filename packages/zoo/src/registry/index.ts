/**
 * `builtin:<name>` models: a registry of zoo builders (./builtins.ts) and a content-hashed,
 * race-safe on-disk cache (./cache.ts), registered with core as the `builtin:` model source
 * (./source.ts): once @patchbay/zoo is imported, loadModel / loadModelSync / openModel accept the
 * spec anywhere a model path is accepted.
 */
import "./builtins.ts";
import "./source.ts";

export {
  type BuiltinCircuit,
  type BuiltinFolder,
  builtinCircuit,
  builtinKey,
  builtinStats,
  cacheDir,
  ensureBuiltin,
  type LoadedBuiltin,
  loadBuiltinSync,
} from "./cache.ts";
export {
  type BuiltinEntry,
  type BuiltinOptions,
  type BuiltinSpec,
  type BuiltModel,
  isBuiltinPath,
  listBuiltins,
  type OptionValue,
  register,
  resolveBuiltin,
  type Task,
  type TaskRequest,
} from "./registry.ts";
