import { readFileSync } from "node:fs";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { TokenizerError } from "../errors/errors.ts";
import { hasSharedModels, sharedModelPath, warnIfNoSharedModels } from "../testing/shared.ts";
import { parseLlama2cTokenizer, readLlama2cTokenizer } from "./llama2c.ts";
import type { SentencePieceTokenizer } from "./sentencepiece.ts";
import { llama2cBasePieces, runcEncode, writeLlama2cTokenizer } from "./test-support.ts";

const STORY_START =
  "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. " +
  "One day, she saw a big, red ball. She wanted to play with it, but it was too high.";

const synthetic = (): Uint8Array => {
  const extra = [" ", "a", "b", " a", "ab", "é"];
  return writeLlama2cTokenizer(
    [...llama2cBasePieces(), ...extra],
    [...llama2cBasePieces().map(() => 0), ...extra.map((_, i) => -i)],
  );
};

const tokenizerError = (f: () => unknown): TokenizerError => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(TokenizerError);
    expect((e as TokenizerError)._tag).toBe("TokenizerError");
    return e as TokenizerError;
  }
  throw new Error("expected a TokenizerError");
};

/** Overwrite part of a copy of `bytes`. */
const patched = (bytes: Uint8Array, at: number, write: (v: DataView) => void): Uint8Array => {
  const copy = bytes.slice();
  write(new DataView(copy.buffer, at));
  return copy;
};

/** Fuzz: truncations and random byte overwrites give a typed TokenizerError or a working tokenizer. */
const fuzzCorruption = (bytes: Uint8Array, numRuns: number): void => {
  fc.assert(
    fc.property(
      fc.nat({ max: bytes.length }),
      fc.array(fc.tuple(fc.nat({ max: bytes.length - 1 }), fc.integer({ min: 0, max: 255 })), {
        maxLength: 6,
      }),
      fc.boolean(),
      (cut, edits, truncate) => {
        const b = bytes.slice(0, truncate ? cut : bytes.length);
        for (const [at, v] of edits) if (at < b.length) b[at] = v;
        let tok: SentencePieceTokenizer;
        try {
          tok = parseLlama2cTokenizer(b, "fuzz.bin");
        } catch (e) {
          expect(e).toBeInstanceOf(TokenizerError);
          expect((e as TokenizerError).message).toContain("fuzz.bin");
          return;
        }
        // a file that still parses must still encode and decode. One exception, as in run.c: when
        // the corruption took the " " piece, the dummy prefix is byte-encoded (<0x20>), and run.c's
        // decode strips a leading space after BOS only from a piece, not from a byte token.
        const ids = tok.encode("Hello, wörld 🤗");
        const spaceByte = tok.idToToken(ids[1]!) === "<0x20>";
        expect(tok.decode(ids)).toBe(`${spaceByte ? " " : ""}Hello, wörld 🤗`);
      },
    ),
    { numRuns },
  );
};

describe("llama2.c tokenizer.bin: bad files", () => {
  const good = synthetic();
  const firstRecord = 4;

  it("parses the synthetic file and infers the vocab size from its length", () => {
    expect(parseLlama2cTokenizer(good, "s.bin").vocabSize).toBe(259 + 6);
    expect(parseLlama2cTokenizer(good, "s.bin", 265).vocabSize).toBe(265);
  });

  it("names the file and the field for each kind of damage", () => {
    expect(tokenizerError(() => parseLlama2cTokenizer(new Uint8Array(2), "t.bin")).message).toMatch(
      /^t\.bin: max_token_length: expected an int32 header/,
    );
    const zeroMax = patched(good, 0, (v) => v.setInt32(0, 0, true));
    expect(tokenizerError(() => parseLlama2cTokenizer(zeroMax, "t.bin")).message).toMatch(
      /^t\.bin: max_token_length: /,
    );
    const truncated = good.subarray(0, good.length - 1);
    expect(tokenizerError(() => parseLlama2cTokenizer(truncated, "t.bin")).message).toMatch(
      /^t\.bin: token 264 bytes at byte \d+: expected 2 bytes, found 1 bytes left/,
    );
    const negative = patched(good, firstRecord + 4, (v) => v.setInt32(0, -5, true));
    expect(tokenizerError(() => parseLlama2cTokenizer(negative, "t.bin")).message).toMatch(
      /^t\.bin: token 0 length at byte 8: .*-5/,
    );
    const nan = patched(good, firstRecord, (v) => v.setFloat32(0, Number.NaN, true));
    expect(tokenizerError(() => parseLlama2cTokenizer(nan, "t.bin")).message).toMatch(
      /^t\.bin: token 0 score/,
    );
    // <unk> (5 bytes) → "<unk" + an invalid UTF-8 byte
    const badUtf8 = patched(good, firstRecord + 8 + 4, (v) => v.setUint8(0, 0xff));
    expect(tokenizerError(() => parseLlama2cTokenizer(badUtf8, "t.bin")).message).toMatch(
      /^t\.bin: token 0 bytes .*UTF-8/,
    );
    // "<0x00>" → "<0x0Z>": id 3 is no longer the byte token run.c's fallback assumes
    const notByte = patched(good, firstRecord + 3 * 8 + 5 + 6 + 6 + 8 + 4, (v) =>
      v.setUint8(0, "Z".charCodeAt(0)),
    );
    expect(tokenizerError(() => parseLlama2cTokenizer(notByte, "t.bin")).message).toMatch(
      /^t\.bin: token 3: expected the byte token <0x00>/,
    );
    const tooFew = writeLlama2cTokenizer(["<unk>", "a"], [0, 0]);
    expect(tokenizerError(() => parseLlama2cTokenizer(tooFew, "t.bin")).message).toMatch(
      /^t\.bin: vocab size: expected at least 259/,
    );
  });

  it("checks the file against a vocab size from the model", () => {
    expect(tokenizerError(() => parseLlama2cTokenizer(good, "t.bin", 300)).message).toMatch(
      /^t\.bin: token 265 header at byte \d+: expected 300 tokens \(vocab_size from the model\)/,
    );
    expect(tokenizerError(() => parseLlama2cTokenizer(good, "t.bin", 260)).message).toMatch(
      /^t\.bin: file length: .*trailing/,
    );
    expect(tokenizerError(() => parseLlama2cTokenizer(good, "t.bin", 0)).message).toMatch(
      /^t\.bin: vocab_size: /,
    );
  });

  it("names a missing file", () => {
    expect(tokenizerError(() => readLlama2cTokenizer("/nonexistent/tok.bin")).message).toContain(
      "/nonexistent/tok.bin",
    );
  });

  it("fuzz: truncated or corrupted synthetic files give TokenizerError or a working tokenizer", () => {
    fuzzCorruption(good, 500);
  });
});

warnIfNoSharedModels("tokenizer/llama2c.test.ts: llama2.c tok512.bin (stories260K) tokenizer tests");

describe.skipIf(!hasSharedModels)("llama2.c tok512.bin (stories260K)", () => {
  let tok: SentencePieceTokenizer;
  let bytes: Uint8Array;
  let greedy: number[];
  let pieces: string[];
  let scores: number[];
  beforeAll(() => {
    const path = sharedModelPath("stories260K", "tok512.bin");
    bytes = readFileSync(path);
    tok = readLlama2cTokenizer(path);
    greedy = readFileSync(sharedModelPath("stories260K", "greedy_ids.txt"), "utf8")
      .trim()
      .split(/\s+/)
      .map(Number);
    pieces = Array.from({ length: tok.vocabSize }, (_, i) => tok.idToToken(i));
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    scores = [];
    for (let off = 4; off < bytes.length; ) {
      scores.push(view.getFloat32(off, true));
      off += 8 + view.getInt32(off + 4, true);
    }
  });

  it("has 512 tokens, BOS 1, EOS 2, byte tokens 3..258", () => {
    expect(tok.kind).toBe("llama2c");
    expect(tok.vocabSize).toBe(512);
    expect(readLlama2cTokenizer(sharedModelPath("stories260K", "tok512.bin"), 512).vocabSize).toBe(512);
    expect([tok.bos, tok.eos]).toEqual([1, 2]);
    expect(tok.idToToken(3)).toBe("<0x00>");
    expect(tok.idToToken(258)).toBe("<0xFF>");
  });

  it("decodes greedy_ids.txt to the story", () => {
    expect(greedy[0]).toBe(1);
    expect(tok.decode(greedy).startsWith(STORY_START)).toBe(true);
  });

  it("re-encodes the decoded story to the same ids, whole and per sentence", () => {
    const text = tok.decode(greedy);
    expect(tok.encode(text)).toEqual(greedy);
    // sentence segments: cut before a space-led piece that follows a sentence end
    const cuts = [0];
    for (let i = 1; i < greedy.length; i++) {
      if (pieces[greedy[i]!]!.startsWith(" ") && /[.!?"]$/.test(pieces[greedy[i - 1]!]!)) cuts.push(i);
    }
    cuts.push(greedy.length);
    expect(cuts.length).toBeGreaterThan(10);
    for (let k = 0; k + 1 < cuts.length; k++) {
      const seg = greedy.slice(cuts[k], cuts[k + 1]);
      if (k === 0) {
        expect(tok.encode(tok.decode(seg))).toEqual(seg);
      } else {
        // without BOS the leading space stays; the dummy prefix restores it
        const s = tok.decode(seg);
        expect(s.startsWith(" ")).toBe(true);
        expect(tok.encode(s.slice(1), { bos: false }), JSON.stringify(s)).toEqual(seg);
      }
    }
  });

  it("encodes exactly as run.c (literal port) on random text", () => {
    const storyish = fc.string({
      unit: fc.constantFrom(
        " ",
        "the",
        "Lily",
        "a",
        "e",
        "n",
        ".",
        ",",
        "\n",
        "'",
        '"',
        "é",
        "日",
        "🤗",
        "—",
      ),
      maxLength: 25,
    });
    fc.assert(
      fc.property(
        fc.oneof(storyish, fc.string({ unit: "binary", maxLength: 20 })),
        fc.boolean(),
        (s, bos) => {
          expect(tok.encode(s, { bos })).toEqual(runcEncode(pieces, scores, s, bos));
        },
      ),
      { numRuns: 1500 },
    );
  });

  it("round-trips any well-formed string (up to the dummy prefix without BOS)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 60 }), (s) => {
        expect(tok.decode(tok.encode(s))).toBe(s);
        expect(tok.decode(tok.encode(s, { bos: false }))).toBe(s === "" ? "" : ` ${s}`);
      }),
      { numRuns: 1000 },
    );
  });

  it("encodes a long prompt quickly (heap merge, not run.c's quadratic rescan)", () => {
    const long = tok.decode(greedy).repeat(40);
    const t0 = performance.now();
    const ids = tok.encode(long);
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(tok.decode(ids)).toBe(long);
  });

  it("fuzz: truncated or corrupted tok512.bin gives TokenizerError or a working tokenizer", () => {
    fuzzCorruption(bytes, 300);
  });
});
