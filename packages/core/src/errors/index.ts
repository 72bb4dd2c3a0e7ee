export {
  WeightFileError,
  ConfigError,
  TensorShapeError,
  UnsupportedError,
  TokenizerError,
  InputError,
  ModelNotFoundError,
  RuntimeError,
  type PatchbayError,
  isPatchbayError,
} from "./errors.ts";
