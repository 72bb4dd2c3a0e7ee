/**
 * Weight loaders: every supported checkpoint format → ModelConfig + canonical Weights
 * (model/weights.ts: TransformerLens layout, matrices [in, out]).
 * Plain synchronous functions throw our typed errors; `loadModel` is the Effect boundary.
 */
export {
  isLoadError,
  type LoadedModel,
  type LoadError,
  loadFolderSync,
  loadGgufSync,
  loadLlama2cSync,
  loadModel,
  loadModelSync,
  type ModelFormat,
} from "./load.ts";
export type { Quantization } from "./quantization.ts";
export {
  parseSafetensors,
  readSafetensors,
  type SafetensorsContents,
  writeSafetensors,
} from "./safetensors.ts";
export {
  type GgufHeader,
  type GgufMetadata,
  type GgufTensorInfo,
  type GgufValue,
  readGgufHeader,
  readGgufMetadata,
} from "./gguf.ts";
export { checkConfig, validateWeights } from "./validate.ts";
export {
  isSourcePath,
  type ModelSource,
  modelSourceSchemes,
  registerModelSource,
  type SourcedModel,
} from "./sources.ts";
export { readCanonicalWeightsSync } from "./canonical.ts";
export { weightsHash } from "./hash.ts";
export { spill } from "./spill.ts";
