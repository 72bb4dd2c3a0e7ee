import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeUtf8Strict, describeInvalidUtf8 } from "./utf8.ts";

const bytes = (...xs: number[]) => new Uint8Array(xs);
const enc = (s: string) => new TextEncoder().encode(s);

describe("decodeUtf8Strict", () => {
  it("decodes UTF-8 and strips a leading byte order mark (only the first)", () => {
    expect(decodeUtf8Strict(enc("name: é ✓ 𝄞\n"), "f")).toBe("name: é ✓ 𝄞\n");
    expect(decodeUtf8Strict(bytes(0xef, 0xbb, 0xbf, 0x61), "f")).toBe("a");
    expect(decodeUtf8Strict(bytes(0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf), "f")).toBe("\ufeff");
    expect(decodeUtf8Strict(bytes(), "f")).toBe("");
  });

  it("names the line and byte column of the first bad sequence", () => {
    const text = [...enc("a: 1\nname: ok\nbad: x"), 0xff, ...enc("y\n")];
    const r = decodeUtf8Strict(new Uint8Array(text), "exp.yaml");
    expect(r).toEqual({ file: "exp.yaml", line: 3, column: 7, offset: 20, bytes: "0xff" });
    expect(describeInvalidUtf8(r as Exclude<typeof r, string>)).toBe(
      "the byte 0xff at line 3, byte 7 (not UTF-8)",
    );
  });

  it("rejects overlong forms, surrogates, code points past U+10FFFF and truncated sequences", () => {
    const bad = [
      [0xc0, 0xaf], // overlong "/"
      [0xe0, 0x80, 0xaf], // overlong
      [0xed, 0xa0, 0x80], // U+D800
      [0xf4, 0x90, 0x80, 0x80], // U+110000
      [0xf8, 0x88, 0x80, 0x80, 0x80], // 5-byte form
      [0xe2, 0x82], // truncated €
      [0x80], // lone continuation
    ];
    for (const b of bad) {
      const r = decodeUtf8Strict(bytes(0x61, ...b), "f");
      expect(typeof r, JSON.stringify(b)).toBe("object");
      expect(r).toMatchObject({ line: 1, column: 2, offset: 1 });
    }
    expect(decodeUtf8Strict(bytes(0x61, 0xe2, 0x82, 0x41), "f")).toMatchObject({ bytes: "0xe2 0x82" });
  });

  it("property: a string exactly when the bytes round-trip; otherwise the prefix before the offset is valid UTF-8", () => {
    const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
    const mixed = fc.oneof(
      fc.uint8Array({ maxLength: 40 }),
      fc.string({ unit: "binary", maxLength: 20 }).map(enc),
      fc
        .tuple(fc.string({ maxLength: 10 }).map(enc), fc.uint8Array({ minLength: 1, maxLength: 3 }))
        .map(([a, b]) => new Uint8Array([...a, ...b])),
    );
    fc.assert(
      fc.property(mixed, (b) => {
        const r = decodeUtf8Strict(b, "f");
        const roundTrips = Buffer.from(Buffer.from(b).toString("utf8"), "utf8").equals(Buffer.from(b));
        expect(typeof r === "string").toBe(roundTrips);
        if (typeof r === "string") return;
        expect(() => decoder.decode(b.subarray(0, r.offset))).not.toThrow();
        expect(() => decoder.decode(b.subarray(0, Math.min(r.offset + 4, b.length)))).toThrow();
        expect(r.line).toBe(1 + b.subarray(0, r.offset).filter((x) => x === 0x0a).length);
      }),
      { numRuns: 2000 },
    );
  });
});
