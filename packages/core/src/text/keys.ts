import { type JsonPath, jsonPathString } from "./json.ts";

/**
 * Keys that user data may not use as object keys or path segments. Experiment, task, config and
 * artifact files come from other people: a key `__proto__` written through `o[k] = v` reaches
 * `Object.prototype`, and every object in the process — child-process environments included —
 * inherits what was written there. `constructor` and `prototype` lead to the same place one step
 * further (`o.constructor.prototype`). No field of ours has these names, so they are rejected
 * wherever user data becomes an object or a path, instead of being special-cased at each write.
 */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

/**
 * Whether a key would reach Object.prototype (`__proto__`, `constructor`, `prototype`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isForbiddenKey } from "@patchbay/core/text";
 *
 * assert.ok(isForbiddenKey("__proto__"));
 * assert.ok(!isForbiddenKey("proto"));
 * ```
 */
export const isForbiddenKey = (key: string): boolean => FORBIDDEN_KEYS.has(key);

/**
 * The path of the first forbidden key in a parsed JSON/YAML value (depth first, keys in order), or
 * null. Own keys only: JSON.parse and YAML's toJS write `__proto__` as an own data property, which
 * is exactly what a later `Object.assign`, spread-then-assign or dotted-path write would follow.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { forbiddenKeyPath } from "@patchbay/core/text";
 *
 * assert.equal(forbiddenKeyPath(JSON.parse('{"a": [{"__proto__": {}}]}')), "a[0].__proto__");
 * assert.equal(forbiddenKeyPath({ a: 1 }), null);
 * ```
 */
export const forbiddenKeyPath = (value: unknown, path: JsonPath = []): string | null => {
  // an explicit stack, not recursion (a deeply nested file must not overflow the JS stack), and
  // parent links, not path copies (a path is spelled out only for the key that is reported)
  interface Entry {
    readonly v: unknown;
    readonly key: string | number | null;
    readonly parent: Entry | null;
  }
  const spell = (e: Entry | null, last: string): string => {
    const keys: (string | number)[] = [last];
    for (let x = e; x !== null && x.key !== null; x = x.parent) keys.push(x.key);
    return jsonPathString([...path, ...keys.reverse()]);
  };
  const stack: Entry[] = [{ v: value, key: null, parent: null }];
  while (stack.length > 0) {
    const e = stack.pop()!;
    const v = e.v;
    if (typeof v !== "object" || v === null) continue;
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], key: i, parent: e });
      continue;
    }
    const keys = Object.keys(v);
    for (const k of keys) if (isForbiddenKey(k)) return spell(e, k);
    for (let i = keys.length - 1; i >= 0; i--)
      stack.push({ v: (v as Record<string, unknown>)[keys[i]!], key: keys[i]!, parent: e });
  }
  return null;
};

/**
 * The first forbidden segment of a dotted path (`a.__proto__.b` → `__proto__`), or null.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { forbiddenSegment } from "@patchbay/core/text";
 *
 * assert.equal(forbiddenSegment("method.constructor.x"), "constructor");
 * assert.equal(forbiddenSegment("method.steps"), null);
 * ```
 */
export const forbiddenSegment = (dotted: string): string | null =>
  dotted.split(".").find(isForbiddenKey) ?? null;

/** What every error about such a key says it expected. */
export const FORBIDDEN_KEYS_EXPECTED = `a key other than ${[...FORBIDDEN_KEYS].join(", ")} (reserved: they would reach Object.prototype)`;
