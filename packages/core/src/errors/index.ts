export {
  WeightFileError,
  ConfigError,
  TensorShapeError,
  UnsupportedError,
  TokenizerError,
  InputError,
  ModelNotFoundError,
  RuntimeError,
  UnknownBuiltinError,
  TaskFileError,
  type PatchbayError,
  isPatchbayError,
} from "./errors.ts";
export { attempt } from "./attempt.ts";
