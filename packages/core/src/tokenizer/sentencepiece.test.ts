import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InputError } from "../errors/errors.ts";
import { parseLlama2cTokenizer } from "./llama2c.ts";
import { llama2cBasePieces, runcEncode, writeLlama2cTokenizer } from "./test-support.ts";

// A small synthetic llama2.c vocabulary: merges with tied scores, a never-merging score, multi-byte pieces.
const merged: [string, number][] = [
  [" a", -1],
  ["ab", -1], // ties with " a": the leftmost pair wins
  ["bc", -2],
  [" ab", -3],
  ["abc", -3],
  [" abc", -4],
  ["ca", -5],
  ["ba", -1e10], // run.c never merges at or below its -1e10 starting score
  ["éé", -6],
  [" ", -10],
  ["a", -11],
  ["b", -12],
  ["c", -13],
  ["é", -14],
  ["\n", -15],
];
const pieces = [...llama2cBasePieces(), ...merged.map(([p]) => p)];
const scores = [...llama2cBasePieces().map(() => 0), ...merged.map(([, s]) => s)];
const tok = parseLlama2cTokenizer(writeLlama2cTokenizer(pieces, scores), "synthetic.bin");
const id = (p: string): number => pieces.indexOf(p);

const text = fc.string({
  unit: fc.constantFrom("a", "b", "c", " ", "é", "日", "x", "\n", "🤗"),
  maxLength: 30,
});

describe("SentencePiece-style encoding (synthetic llama2.c vocabulary)", () => {
  it("adds BOS and the dummy prefix, merges by score", () => {
    expect(tok.encode("abc")).toEqual([1, id(" abc")]);
    expect(tok.encode("abc", { bos: false })).toEqual([id(" abc")]);
    expect(tok.encode("")).toEqual([1]);
    expect(tok.encode("", { bos: false })).toEqual([]);
    expect(tok.encode("ba", { bos: false })).toEqual([id(" "), id("b"), id("a")]);
  });

  it("falls back to byte tokens (byte + 3) for characters not in the vocabulary", () => {
    expect(tok.encode("日", { bos: false })).toEqual([id(" "), 0xe6 + 3, 0x97 + 3, 0xa5 + 3]);
  });

  it("matches a literal port of run.c's encode on random text", () => {
    fc.assert(
      fc.property(text, fc.boolean(), (s, bos) => {
        expect(tok.encode(s, { bos })).toEqual(runcEncode(pieces, scores, s, bos));
      }),
      { numRuns: 3000 },
    );
  });

  it("round-trips: with BOS exactly, without BOS up to the dummy-prefix space", () => {
    fc.assert(
      fc.property(text, (s) => {
        expect(tok.decode(tok.encode(s))).toBe(s);
        expect(tok.decode(tok.encode(s, { bos: false }))).toBe(s === "" ? "" : ` ${s}`);
      }),
      { numRuns: 1000 },
    );
  });

  it("decodes byte tokens as raw bytes, whole characters across tokens; control tokens print nothing", () => {
    expect(tok.decode([1, 0xe6 + 3, 0x97 + 3, 0xa5 + 3, 2])).toBe("日");
    expect(tok.decode([1, id(" a"), 1, id(" ab")])).toBe("aab");
    expect(tok.decode([id(" a")])).toBe(" a");
    // a lone continuation byte is not UTF-8: it prints as U+FFFD rather than throwing
    expect(tok.decode([0x97 + 3])).toBe("\uFFFD");
    expect(tok.idToToken(1)).toBe("\n<s>\n");
    expect(tok.idToToken(id(" ab"))).toBe(" ab");
  });

  it("rejects ids outside the vocabulary with InputError naming the id and the vocab size", () => {
    const n = pieces.length;
    for (const bad of [n, -1, 1.5, Number.NaN]) {
      let caught: unknown;
      try {
        tok.decode([1, bad]);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(InputError);
      expect((caught as InputError)._tag).toBe("InputError");
      expect((caught as InputError).message).toContain(String(bad));
      expect((caught as InputError).message).toContain(`vocab size ${n}`);
      expect((caught as InputError).message).toContain("position 1");
    }
    expect(() => tok.idToToken(n)).toThrow(InputError);
  });
});
