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
  HubError,
  type HubFailure,
  PATCHBAY_ERRORS,
  type PatchbayError,
  isPatchbayError,
} from "./errors.ts";
export { attempt } from "./attempt.ts";
export { isOneOf, type TaggedErrorClass } from "./union.ts";
