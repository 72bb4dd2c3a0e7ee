export { referenceForward, type ReferenceOptions, type ReferenceOutput } from "./forward.ts";
export { type RefTensor, erf, geluTanh, geluExact, relu, silu, activation } from "./math.ts";
export { applyRotary } from "./attention.ts";
