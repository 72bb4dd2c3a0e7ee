export {
  FORBIDDEN_KEYS,
  FORBIDDEN_KEYS_EXPECTED,
  fieldPath,
  forbiddenKeyPath,
  forbiddenSegment,
  isForbiddenKey,
} from "./keys.ts";
export { decodeUtf8Strict, describeInvalidUtf8, type InvalidUtf8 } from "./utf8.ts";
