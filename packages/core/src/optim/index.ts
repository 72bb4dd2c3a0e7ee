/**
 * Optimisers shared by every trainer (the zoo's trained models, DAS, the tuned lens, the SAEs):
 * Adam / AdamW with linear warmup and global-norm clipping.
 */
export {
  type AdamOptions,
  type AdamState,
  adamInit,
  adamStep,
  adamStepInPlace,
  globalNorm,
  learningRate,
} from "./adam.ts";
