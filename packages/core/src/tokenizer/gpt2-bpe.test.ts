import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InputError, TokenizerError } from "../errors/errors.ts";
import { hasSharedModels, sharedModelPath, warnIfNoSharedModels } from "../testing/shared.ts";
import { byteToChar, charToByte } from "./byte-unicode.ts";
import { Gpt2Bpe, parseMergesTxt, parseVocabJson, readGpt2Bpe } from "./gpt2-bpe.ts";
import { type HfJsonTokenizer, readHfJsonTokenizer } from "./hf-json.ts";
import { writeMergesFromTokenizerJson } from "./test-support.ts";

/** Text a GPT-2 tokenizer must get right: spaces, newlines, digits, contractions, emoji, specials. */
const GPT2_CORPUS: readonly string[] = [
  "Hello world",
  "Hello  world",
  " leading space",
  "trailing space ",
  "trailing spaces   ",
  "   ",
  "\n",
  "\n\n\nthree newlines",
  "line one\nline two\r\nline three\r\n",
  "tabs\tand\t\tmore\ttabs",
  "It's, I'm, we're, they've, he'd, she'll, don't, can't",
  "IT'S SHOUTING'S 'S 's",
  "'quoted' \"double\"",
  "1234567890 3.14159 1,000,000 -42 +7 1e-5",
  "x = f(y) * 2; // comment",
  "def f(x):\n    return x ** 2\n",
  "🤗 emoji 😀😃😄 👩‍👩‍👧‍👦 🏳️‍🌈",
  "naïve café résumé Ångström",
  "日本語のテキスト 中文 한국어",
  "مرحبا بالعالم שלום",
  "e\u0301 combining accents a\u0308",
  "non\u00a0breaking\u3000ideographic\u2003em spaces",
  "zero\u200bwidth\u200djoiner\ufeffbom",
  "<|endoftext|>",
  "before<|endoftext|>after",
  "<|endoftext|><|endoftext|> twice",
  "<|endoftext",
  "Ġ Ċ ĉ ł (the byte-level alphabet itself)",
  "\u0000 nul \u0007 bell \u007f del",
  "a".repeat(300),
  `${" ".repeat(50)}x`,
  "The quick brown fox jumps over the lazy dog.",
];

describe("GPT-2 byte ↔ unicode table", () => {
  it("is a bijection of 256 printable characters with space → Ġ and newline → Ċ", () => {
    expect(new Set(byteToChar).size).toBe(256);
    expect(byteToChar[0x20]).toBe("Ġ");
    expect(byteToChar[0x0a]).toBe("Ċ");
    expect(byteToChar[0x41]).toBe("A");
    byteToChar.forEach((c, b) => {
      expect(charToByte.get(c)).toBe(b);
    });
  });
});

describe("GPT-2 BPE on a synthetic vocabulary", () => {
  const base = byteToChar.slice();
  const merges: [string, string][] = [
    ["Ġ", "t"],
    ["h", "e"],
    ["Ġt", "he"],
    ["l", "l"],
  ];
  const vocab = new Map([...base, ...merges.map(([a, b]) => a + b), "<|endoftext|>"].map((p, i) => [p, i]));
  const tok = new Gpt2Bpe(vocab, merges, { vocab: "v.json", merges: "m.txt" });

  it("merges by rank and splits special tokens out", () => {
    expect(tok.encode(" the")).toEqual([vocab.get("Ġthe")]);
    const eot = vocab.get("<|endoftext|>")!;
    expect(tok.encode("hello<|endoftext|>")).toEqual([vocab.get("he"), vocab.get("ll"), vocab.get("o"), eot]);
    expect(tok.bos).toBe(vocab.get("<|endoftext|>"));
    expect(tok.encode("x", { bos: true })[0]).toBe(tok.bos);
    expect(tok.encode("x")).toEqual([vocab.get("x")]);
  });

  it("is lossless for any well-formed string", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 60 }), (s) => {
        expect(tok.decode(tok.encode(s))).toBe(s);
      }),
      { numRuns: 1000 },
    );
  });

  it("rejects a vocabulary missing a base byte, or a merge whose result is not a piece", () => {
    const noSpace = new Map([...vocab].filter(([p]) => p !== "Ġ"));
    const reindexed = new Map([...noSpace.keys()].map((p, i) => [p, i]));
    expect(() => new Gpt2Bpe(reindexed, [], { vocab: "v.json", merges: "m.txt" })).toThrow(
      /v\.json: vocab: .*byte 0x20/,
    );
    const e = (() => {
      try {
        new Gpt2Bpe(vocab, [["q", "z"]], { vocab: "v.json", merges: "m.txt" });
      } catch (err) {
        return err;
      }
    })();
    expect(e).toBeInstanceOf(TokenizerError);
    expect((e as TokenizerError)._tag).toBe("TokenizerError");
    expect((e as TokenizerError).message).toMatch(/^m\.txt: merge 0 .*"qz"/);
  });

  it("rejects ids out of range in decode with InputError naming the id and vocab size", () => {
    const e = (() => {
      try {
        tok.decode([0, vocab.size + 5]);
      } catch (err) {
        return err;
      }
    })();
    expect(e).toBeInstanceOf(InputError);
    expect((e as InputError)._tag).toBe("InputError");
    expect((e as InputError).message).toContain(String(vocab.size + 5));
    expect((e as InputError).message).toContain(`vocab size ${vocab.size}`);
  });
});

describe("vocab.json / merges.txt parsing errors", () => {
  const caught = (f: () => unknown): TokenizerError => {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(TokenizerError);
      return e as TokenizerError;
    }
    throw new Error("expected a TokenizerError");
  };

  it("names the file and field", () => {
    let e = caught(() => parseVocabJson("{not json", "/m/vocab.json"));
    expect(e._tag).toBe("TokenizerError");
    expect(e.message).toMatch(/^\/m\/vocab\.json: vocab\.json: expected valid JSON/);
    e = caught(() => parseVocabJson("[1,2]", "/m/vocab.json"));
    expect(e.message).toContain("/m/vocab.json");
    expect(e.message).toContain("an array");
    e = caught(() => parseVocabJson('{"a": "zero"}', "/m/vocab.json"));
    expect(e.message).toContain('vocab entry "a"');
    e = caught(() => parseMergesTxt("#version: 0.2\nĠ t\nbad\n", "/m/merges.txt"));
    expect(e.message).toMatch(/^\/m\/merges\.txt: line 3: /);
    expect(parseMergesTxt("#version: 0.2\r\nĠ t\r\n\r\nh e", "x")).toEqual([
      ["Ġ", "t"],
      ["h", "e"],
    ]);
    e = caught(() => readGpt2Bpe("/nonexistent/vocab.json", "/nonexistent/merges.txt"));
    expect(e.message).toContain("/nonexistent/vocab.json");
  });
});

warnIfNoSharedModels(
  "tokenizer/gpt2-bpe.test.ts: GPT-2 BPE vs @huggingface/tokenizers on the real GPT-2 vocabulary",
);

describe.skipIf(!hasSharedModels)("GPT-2 BPE (vocab.json + merges.txt) vs @huggingface/tokenizers", () => {
  let dir: string;
  let ours: Gpt2Bpe;
  let hf: HfJsonTokenizer;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "patchbay-gpt2-"));
    const merges = writeMergesFromTokenizerJson(sharedModelPath("gpt2-tokenizer", "tokenizer.json"), dir);
    ours = readGpt2Bpe(sharedModelPath("gpt2-tokenizer", "vocab.json"), merges);
    hf = readHfJsonTokenizer(sharedModelPath("gpt2-tokenizer", "tokenizer.json"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('encodes "Hello world" as [15496, 995]', () => {
    expect(ours.encode("Hello world")).toEqual([15496, 995]);
    expect(ours.vocabSize).toBe(50257);
    expect(ours.bos).toBe(50256);
    expect(ours.eos).toBe(50256);
    expect(ours.idToToken(995)).toBe("Ġworld");
    expect(ours.encode("Hello world", { bos: true })).toEqual([50256, 15496, 995]);
  });

  it("agrees with @huggingface/tokenizers on a fixed corpus, and round-trips it", () => {
    for (const s of GPT2_CORPUS) {
      const ids = ours.encode(s);
      expect(ids, JSON.stringify(s)).toEqual(hf.encode(s));
      expect(ours.decode(ids)).toBe(s);
      expect(hf.decode(ids)).toBe(s);
    }
  });

  it("agrees with @huggingface/tokenizers on random unicode and ascii strings", () => {
    const strings = fc.oneof(
      fc.string({ unit: "binary", maxLength: 40 }),
      fc.string({ unit: "grapheme", maxLength: 30 }),
      fc.string({ unit: "binary-ascii", maxLength: 60 }),
      fc.string({
        unit: fc.constantFrom(" ", "\n", "a", "'s", "'", "1", "é", "🤗", "<|endoftext|>", "\t", "S"),
        maxLength: 30,
      }),
    );
    fc.assert(
      fc.property(strings, (s) => {
        expect(ours.encode(s)).toEqual(hf.encode(s));
      }),
      { numRuns: 3000 },
    );
  });

  it("is lossless: decode(encode(s)) === s for any well-formed string", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 80 }), (s) => {
        expect(ours.decode(ours.encode(s))).toBe(s);
      }),
      { numRuns: 1000 },
    );
  });

  it("decodes any id sequence the same way as @huggingface/tokenizers", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 50256 }), { minLength: 1, maxLength: 20 }), (ids) => {
        expect(ours.decode(ids)).toBe(hf.decode(ids));
      }),
      { numRuns: 500 },
    );
  });
});
