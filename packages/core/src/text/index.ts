/**
 * Writing files atomically (a temp file, fsync, rename), and reading user files as text,
 * strictly: UTF-8 that is not valid is an error with its line and byte column, JSON objects with a key given twice are found before JSON.parse hides them, and
 * keys that would reach Object.prototype (`__proto__`, `constructor`, `prototype`) are found
 * wherever user data becomes an object or a path.
 */
export { decodeUtf8Strict, describeInvalidUtf8, findInvalidUtf8, type InvalidUtf8 } from "./utf8.ts";
export { findDuplicateKey, type JsonPath, jsonPathString } from "./json.ts";
export {
  FORBIDDEN_KEYS,
  FORBIDDEN_KEYS_EXPECTED,
  forbiddenKeyPath,
  forbiddenSegment,
  isForbiddenKey,
} from "./keys.ts";
export { AtomicWriteFailure, writeFileAtomicSync } from "./atomic.ts";
