/** The naive float64 forward, written independently of the builder: the oracle of the tests. */
export { referenceForward, type ReferenceOptions, type ReferenceOutput } from "./forward.ts";
export type { RefTensor } from "./math.ts";
