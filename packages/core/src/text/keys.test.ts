import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FORBIDDEN_KEYS, forbiddenKeyPath, forbiddenSegment } from "./keys.ts";

const clean = Object.getOwnPropertyNames(Object.prototype).sort();
const unpolluted = () => expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(clean);

describe("forbidden keys in user data", () => {
  it("property: forbiddenKeyPath finds a forbidden key at any depth, and only then", () => {
    const key = fc.oneof(fc.constantFrom(...FORBIDDEN_KEYS), fc.string({ maxLength: 6 }));
    const json = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: "small" },
        fc.integer(),
        fc.string(),
        fc.array(tie("value"), { maxLength: 3 }),
        fc.array(fc.tuple(key, tie("value")), { maxLength: 3 }),
      ),
    })).value;
    fc.assert(
      fc.property(json, (v) => {
        // tuples are objects written as JSON text, so `__proto__` stays an own key as in a file
        const text = (x: unknown): string =>
          Array.isArray(x) && x.every((e) => Array.isArray(e) && e.length === 2 && typeof e[0] === "string")
            ? `{${(x as [string, unknown][]).map(([k, e]) => `${JSON.stringify(k)}:${text(e)}`).join(",")}}`
            : Array.isArray(x)
              ? `[${x.map(text).join(",")}]`
              : JSON.stringify(x);
        const parsed: unknown = JSON.parse(text(v));
        const naive = (x: unknown): boolean =>
          typeof x === "object" &&
          x !== null &&
          Object.keys(x).some((k) => FORBIDDEN_KEYS.has(k) || naive((x as Record<string, unknown>)[k]));
        const path = forbiddenKeyPath(parsed);
        expect(path !== null).toBe(naive(parsed));
        if (path !== null)
          expect(
            FORBIDDEN_KEYS.has(
              path
                .split(/[.[\]]/)
                .filter((s) => s !== "")
                .at(-1)!,
            ),
          ).toBe(true);
        unpolluted();
      }),
      { numRuns: 500, seed: 13 },
    );
  });

  it("names the path, and does not overflow on deep nesting", () => {
    expect(forbiddenKeyPath(JSON.parse('{"a":[{"b":1},{"constructor":{}}]}'))).toBe("a[1].constructor");
    expect(forbiddenSegment("method.__proto__.x")).toBe("__proto__");
    let deep = "0";
    for (let i = 0; i < 100_000; i++) deep = `[${deep}]`;
    expect(forbiddenKeyPath(JSON.parse(deep))).toBeNull();
  });
});
