/**
 * Reading user files as text, strictly: UTF-8 that is not valid is an error with its line and
 * byte column, and JSON objects with a key given twice are found before JSON.parse hides them.
 */
export { decodeUtf8Strict, describeInvalidUtf8, findInvalidUtf8, type InvalidUtf8 } from "./utf8.ts";
export { findDuplicateKey, type JsonPath, jsonPathString } from "./json.ts";
