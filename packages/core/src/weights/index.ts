/**
 * Weight loaders: every supported checkpoint format → ModelConfig + canonical Weights.
 * Plain synchronous functions throw our typed errors; `loadModel` is the Effect boundary.
 */
export {
  type LoadedModel,
  type LoadError,
  type ModelFormat,
  isLoadError,
  loadModel,
  loadModelSync,
} from "./load.ts";
export {
  type SafetensorsContents,
  type SafetensorsHeader,
  parseSafetensors,
  readSafetensors,
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
export { f16BitsToNumber, bf16BitsToNumber } from "./dtype.ts";
