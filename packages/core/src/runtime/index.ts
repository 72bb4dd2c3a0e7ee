/**
 * Running a model: open it (weights, tokenizer, session cache), the plain forward (logits and
 * captures), greedy or sampled generation, and the session cache that every run goes through.
 */
export {
  makeSessionCache,
  type SessionCache,
  type SessionBuildOptions,
  type RuntimeOptions,
} from "./session.ts";
export { compileCacheDir, COMPILE_CACHE_ENV } from "./compile-cache-dir.ts";
export { COMPILE_CACHE_LIMIT_BYTES } from "./compile-cache.ts";
export { forward, type ForwardResult } from "./forward.ts";
export { generate, argmax, sampleTemperature, type GenerateOptions } from "./generate.ts";
export { openModel, requireTokenizer, type OpenModel, type OpenOptions } from "./open.ts";
export { checkThreads, maxThreads, THREADS_PER_CORE } from "./threads.ts";
export type { ContextOptions } from "./context.ts";
export { HUGEPAGES_TUNABLE, hugepagesState, withHugepages, type HugepagesState } from "./hugepages.ts";
