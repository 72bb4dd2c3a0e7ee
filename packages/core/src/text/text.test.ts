import { Either } from "effect";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decodeUtf8Strict,
  describeInvalidUtf8,
  findDuplicateKey,
  findInvalidUtf8,
  jsonPathString,
} from "./index.ts";

const bytes = (...parts: (string | number[])[]): Uint8Array =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === "string" ? [...new TextEncoder().encode(p)] : p)));

const fatal = new TextDecoder("utf-8", { fatal: true });
const acceptedByTextDecoder = (b: Uint8Array): boolean => {
  try {
    fatal.decode(b);
    return true;
  } catch {
    return false;
  }
};

describe("strict UTF-8", () => {
  it("valid text decodes unchanged (BOM dropped)", () => {
    expect(decodeUtf8Strict(bytes("a\nbé😀"))).toEqual(Either.right("a\nbé😀"));
    expect(decodeUtf8Strict(bytes([0xef, 0xbb, 0xbf], "{}"))).toEqual(Either.right("{}"));
  });

  it("names the line, the byte column and the bytes of the first invalid sequence", () => {
    // line 3, after "xé" (3 bytes): column 4
    const b = bytes('{"a": 1}\n', "\n", "xé", [0xff, 0x41], "\n", [0xc3]);
    const r = decodeUtf8Strict(b);
    expect(Either.isLeft(r)).toBe(true);
    const e = Either.isLeft(r) ? r.left : null;
    expect(e).toEqual({ offset: 13, line: 3, column: 4, bytes: "0xff" });
    expect(describeInvalidUtf8(e!)).toBe("invalid UTF-8 at byte column 4 (byte 13 of the file: 0xff)");
    // a truncated sequence shows the bytes it has
    expect(findInvalidUtf8(bytes("ab", [0xe2, 0x82], "c"))).toMatchObject({ column: 3, bytes: "0xe2 0x82" });
  });

  it("rejects what the WHATWG decoder rejects: overlong forms, surrogates, past U+10FFFF, truncation", () => {
    for (const bad of [
      [0xc0, 0xaf], // overlong "/"
      [0xe0, 0x80, 0xaf], // overlong
      [0xed, 0xa0, 0x80], // U+D800
      [0xf4, 0x90, 0x80, 0x80], // U+110000
      [0xf8, 0x88, 0x80, 0x80, 0x80], // 5-byte form
      [0xe2, 0x82], // truncated €
    ]) {
      const b = bytes("ok", bad);
      expect(findInvalidUtf8(b), bad.join(",")).toMatchObject({ offset: 2, line: 1, column: 3 });
      expect(Either.isLeft(decodeUtf8Strict(b))).toBe(true);
    }
  });

  it("agrees with TextDecoder({fatal: true}) on random bytes (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 24 }), (b) => {
        expect(findInvalidUtf8(b) === null).toBe(acceptedByTextDecoder(b));
      }),
      { numRuns: 3000 },
    );
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (s) => {
        expect(findInvalidUtf8(new TextEncoder().encode(s))).toBeNull();
      }),
      { numRuns: 500 },
    );
  });
});

describe("duplicate JSON keys", () => {
  it("finds a key given twice, at the top or nested, after unescaping", () => {
    expect(findDuplicateKey(`{"a": 1, "b": 2}`)).toBeNull();
    expect(findDuplicateKey(`{"answer_ids": 1, "answer_ids": 2}`)).toEqual(["answer_ids"]);
    expect(findDuplicateKey(`{"a": 1, "\\u0061": 2}`)).toEqual(["a"]);
    expect(findDuplicateKey(`{"meta": {"x": [1, {"y": 1, "y": 2}]}}`)).toEqual(["meta", "x", 1, "y"]);
    // equal keys in different objects, and key-like strings as values, are fine
    expect(findDuplicateKey(`[{"a": 1}, {"a": 2}]`)).toBeNull();
    expect(findDuplicateKey(`{"a": "a", "b": ["a", "a"], "c": "\\"a\\""}`)).toBeNull();
    expect(jsonPathString(["meta", "x", 1, "y"])).toBe("meta.x[1].y");
    expect(jsonPathString(["answer_ids"])).toBe("answer_ids");
  });

  it("never reports a duplicate in JSON.stringify output, and finds one spliced in (property)", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.string(), (v, k) => {
        const text = JSON.stringify(v);
        expect(findDuplicateKey(text)).toBeNull();
        const key = JSON.stringify(k);
        expect(findDuplicateKey(`{${key}: ${text}, "other": 1, ${key}: 0}`)).toEqual([k]);
      }),
      { numRuns: 500 },
    );
  });
});
