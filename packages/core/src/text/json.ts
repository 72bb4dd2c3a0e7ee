/**
 * JSON.parse keeps the last of two equal keys and says nothing, so `{"answer_ids": 1,
 * "answer_ids": 2}` would silently mean 2. This finds such a key.
 */

/** A path into a JSON value: object keys and array indices. */
export type JsonPath = readonly (string | number)[];

type Frame =
  | { readonly object: true; readonly keys: Set<string>; key: string | null }
  | { readonly object: false; index: number };

/**
 * The path of the first key that occurs twice in one object of `text`, or null when there is
 * none. `text` must be valid JSON (call JSON.parse first); keys are compared after unescaping
 * ("a" and "\u0061" are the same key).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { findDuplicateKey, jsonPathString } from "@patchbay/core/text";
 *
 * const path = findDuplicateKey('{"meta": {"note": 1, "note": 2}}');
 * assert.deepEqual(path, ["meta", "note"]);
 * assert.equal(jsonPathString(path!), "meta.note");
 * ```
 */
export const findDuplicateKey = (text: string): JsonPath | null => {
  const stack: Frame[] = [];
  const here = (): (string | number)[] =>
    stack.flatMap((f): (string | number)[] => (f.object ? (f.key === null ? [] : [f.key]) : [f.index]));
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let j = i + 1;
      while (text.charCodeAt(j) !== 0x22) j += text.charCodeAt(j) === 0x5c /* \ */ ? 2 : 1;
      const top = stack[stack.length - 1];
      if (top?.object === true && top.key === null) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.keys.has(key)) return [...here(), key];
        top.keys.add(key);
        top.key = key;
      }
      i = j + 1;
      continue;
    }
    if (c === 0x7b /* { */) stack.push({ object: true, keys: new Set(), key: null });
    else if (c === 0x5b /* [ */) stack.push({ object: false, index: 0 });
    else if (c === 0x7d /* } */ || c === 0x5d /* ] */) stack.pop();
    else if (c === 0x2c /* , */) {
      const top = stack[stack.length - 1];
      if (top?.object === true) top.key = null;
      else if (top !== undefined) top.index++;
    }
    i++;
  }
  return null;
};

/**
 * A path as a field name: `meta.note`, `answer_ids[2]`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { jsonPathString } from "@patchbay/core/text";
 *
 * assert.equal(jsonPathString(["answer_ids", 2]), "answer_ids[2]");
 * ```
 */
export const jsonPathString = (path: JsonPath): string =>
  path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("");
