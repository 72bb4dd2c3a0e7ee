export { makeSessionCache, type SessionCache, type RuntimeOptions } from "./session.ts";
export { forward, resolveSites, type ForwardResult, feeds, toHost } from "./forward.ts";
export { makeBatch, type Batch } from "./batch.ts";
export { generate, argmax, sampleTemperature, type GenerateOptions } from "./generate.ts";
export { openModel, requireTokenizer, type OpenModel, type OpenOptions } from "./open.ts";
export { checkThreads, maxThreads, THREADS_PER_CORE } from "./threads.ts";
export { checkContext, contextLimit, type ContextOptions, MAX_SEQUENCE } from "./context.ts";
export { checkLogits, checkMetric, checkValues } from "./finite.ts";
