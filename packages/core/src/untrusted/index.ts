export {
  FORBIDDEN_KEYS,
  FORBIDDEN_KEYS_EXPECTED,
  fieldPath,
  forbiddenKeyPath,
  forbiddenSegment,
  isForbiddenKey,
} from "./keys.ts";
