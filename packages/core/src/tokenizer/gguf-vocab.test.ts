import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { TokenizerError } from "../errors/errors.ts";
import { hasSharedModels, sharedModelPath, warnIfNoSharedModels } from "../testing/shared.ts";
import { readGgufMetadata } from "./gguf-read.ts";
import { type GgufMetadata, ggufTokenizerFromMetadata } from "./gguf-vocab.ts";
import { readLlama2cTokenizer } from "./llama2c.ts";
import type { SentencePieceTokenizer } from "./sentencepiece.ts";

const bytePieces = Array.from(
  { length: 256 },
  (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`,
);

/** Synthetic llama-style GGUF tokenizer metadata (as @huggingface/gguf returns it). */
const meta = (over: Record<string, unknown> = {}): GgufMetadata => {
  const extra = ["▁", "a", "b", "▁a", "ab", "▁ab"];
  const tokens = ["<unk>", "<s>", "</s>", ...bytePieces, ...extra];
  return {
    "tokenizer.ggml.model": "llama",
    "tokenizer.ggml.tokens": tokens,
    "tokenizer.ggml.scores": tokens.map((_, i) => (i < 259 ? 0 : -(i - 259))),
    "tokenizer.ggml.token_type": tokens.map((_, i) => (i === 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1)),
    "tokenizer.ggml.bos_token_id": 1,
    "tokenizer.ggml.eos_token_id": 2,
    "tokenizer.ggml.unknown_token_id": 0,
    ...over,
  };
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

describe("GGUF-embedded llama vocabulary (synthetic metadata)", () => {
  it("encodes with BOS and the dummy prefix, spells pieces with ▁", () => {
    const tok = ggufTokenizerFromMetadata(meta(), "m.gguf");
    expect(tok.kind).toBe("gguf");
    expect(tok.encode("ab")).toEqual([1, 264]);
    expect(tok.decode([1, 264])).toBe("ab");
    expect(tok.idToToken(264)).toBe("▁ab");
    expect(tok.encode("日", { bos: false })).toEqual([259, 0xe6 + 3, 0x97 + 3, 0xa5 + 3]);
  });

  it("honours add_bos_token, add_space_prefix and bigint / u32 -1 ids", () => {
    const tok = ggufTokenizerFromMetadata(
      meta({
        "tokenizer.ggml.add_bos_token": false,
        "tokenizer.ggml.add_space_prefix": false,
        "tokenizer.ggml.bos_token_id": 1n,
        "tokenizer.ggml.eos_token_id": 0xffffffff,
      }),
      "m.gguf",
    );
    expect(tok.encode("ab")).toEqual([263]);
    expect(tok.bos).toBe(1);
    expect(tok.eos).toBeNull();
  });

  it("falls back to <unk> for bytes without a byte token", () => {
    const tokens = ["<unk>", "<s>", "</s>", "▁", "a"];
    const tok = ggufTokenizerFromMetadata(
      meta({
        "tokenizer.ggml.tokens": tokens,
        "tokenizer.ggml.scores": [0, 0, 0, -1, -2],
        "tokenizer.ggml.token_type": [2, 3, 3, 1, 1],
      }),
      "m.gguf",
    );
    expect(tok.encode("aé", { bos: false })).toEqual([3, 4, 0, 0]);
  });

  it("names the file and the metadata key for each bad field", () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ "tokenizer.ggml.model": "gpt2" }, /^m\.gguf: tokenizer\.ggml\.model: expected "llama".*gpt2/],
      [{ "tokenizer.ggml.tokens": undefined }, /^m\.gguf: tokenizer\.ggml\.tokens: .*key absent/],
      [{ "tokenizer.ggml.tokens": [1, 2] }, /^m\.gguf: tokenizer\.ggml\.tokens\[0\]: expected a string/],
      [
        { "tokenizer.ggml.scores": [0, 1] },
        /^m\.gguf: tokenizer\.ggml\.scores: expected an array of 265 numbers/,
      ],
      [{ "tokenizer.ggml.token_type": "x" }, /^m\.gguf: tokenizer\.ggml\.token_type: /],
      [
        { "tokenizer.ggml.bos_token_id": 9999 },
        /^m\.gguf: tokenizer\.ggml\.bos_token_id: expected a token id in \[0, 265\)/,
      ],
      [{ "tokenizer.ggml.add_bos_token": 1 }, /^m\.gguf: tokenizer\.ggml\.add_bos_token: expected a boolean/],
      [
        {
          "tokenizer.ggml.token_type": undefined,
          "tokenizer.ggml.unknown_token_id": undefined,
          "tokenizer.ggml.tokens": ["<unk>", "<s>", "</s>", "a"],
          "tokenizer.ggml.scores": [0, 0, 0, 0],
        },
        /^m\.gguf: tokenizer\.ggml\.tokens: expected a byte token <0x00> or tokenizer\.ggml\.unknown_token_id/,
      ],
    ];
    for (const [over, pattern] of cases) {
      expect(tokenizerError(() => ggufTokenizerFromMetadata(meta(over), "m.gguf")).message).toMatch(pattern);
    }
  });

  it("reports a file that is not GGUF as TokenizerError naming the file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "patchbay-gguf-"));
    try {
      const path = join(dir, "not.gguf");
      writeFileSync(path, "this is not a gguf file at all, just text padding padding padding");
      const e = await readGgufMetadata(path).then(
        () => null,
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(TokenizerError);
      expect((e as TokenizerError)._tag).toBe("TokenizerError");
      expect((e as TokenizerError).message).toContain(path);
      expect((e as TokenizerError).message).toContain("GGUF header");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

warnIfNoSharedModels(
  "tokenizer/gguf-vocab.test.ts: the GGUF-embedded vocabulary of stories260K.gguf vs tok512.bin",
);

describe.skipIf(!hasSharedModels)("stories260K.gguf embedded vocabulary vs tok512.bin", () => {
  let gguf: SentencePieceTokenizer;
  let bin: SentencePieceTokenizer;
  beforeAll(async () => {
    const path = sharedModelPath("stories260K", "stories260K.gguf");
    gguf = ggufTokenizerFromMetadata(await readGgufMetadata(path), path);
    bin = readLlama2cTokenizer(sharedModelPath("stories260K", "tok512.bin"));
  });

  it("has the same vocabulary size and special ids; spells spaces as ▁", () => {
    expect(gguf.vocabSize).toBe(512);
    expect([gguf.bos, gguf.eos]).toEqual([1, 2]);
    expect(gguf.idToToken(265)).toBe("▁the");
    expect(bin.idToToken(265)).toBe(" the");
  });

  it("encodes identically to the llama2.c tokenizer on random text", () => {
    const storyish = fc.string({
      unit: fc.constantFrom(" ", "the", "Lily", "a", "e", "n", ".", ",", "\n", "'", "é", "日", "🤗", "▁"),
      maxLength: 30,
    });
    fc.assert(
      fc.property(
        fc.oneof(storyish, fc.string({ unit: "binary", maxLength: 30 })),
        fc.boolean(),
        (s, bos) => {
          expect(gguf.encode(s, { bos })).toEqual(bin.encode(s, { bos }));
          expect(gguf.encode(s)).toEqual(bin.encode(s));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("decodes any id sequence identically to the llama2.c tokenizer", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 511 }), { maxLength: 30 }), (ids) => {
        expect(gguf.decode(ids)).toBe(bin.decode(ids));
      }),
      { numRuns: 2000 },
    );
  });

  it("round-trips any well-formed string", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 40 }), (s) => {
        expect(gguf.decode(gguf.encode(s))).toBe(s);
      }),
      { numRuns: 500 },
    );
  });
});
