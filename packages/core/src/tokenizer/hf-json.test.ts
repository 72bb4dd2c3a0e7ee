import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { InputError, TokenizerError } from "../errors/errors.ts";
import { hasSharedModels, sharedModelPath, warnIfNoSharedModels } from "../testing/shared.ts";
import { byteToChar } from "./byte-unicode.ts";
import { HfJsonTokenizer, readHfJsonTokenizer } from "./hf-json.ts";

/** A tiny byte-level BPE tokenizer.json with a llama-style BOS template, built in memory. */
const tinyJson = (withTemplate: boolean) => {
  const pieces = [...byteToChar, "Ġt", "he", "Ġthe"];
  const vocab = Object.fromEntries(pieces.map((p, i) => [p, i]));
  const bos = pieces.length;
  const eos = pieces.length + 1;
  return {
    version: "1.0",
    added_tokens: [
      {
        id: bos,
        content: "<s>",
        special: true,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
      },
      {
        id: eos,
        content: "</s>",
        special: true,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
      },
    ],
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: withTemplate
      ? {
          type: "TemplateProcessing",
          single: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
          pair: [{ Sequence: { id: "A", type_id: 0 } }, { Sequence: { id: "B", type_id: 1 } }],
          special_tokens: { "<s>": { id: "<s>", ids: [bos], tokens: ["<s>"] } },
        }
      : null,
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: "",
      end_of_word_suffix: "",
      fuse_unk: false,
      vocab: { ...vocab, "<s>": bos, "</s>": eos },
      merges: [
        ["Ġ", "t"],
        ["h", "e"],
        ["Ġt", "he"],
      ],
    },
  };
};

const caught = (f: () => unknown): unknown => {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error("expected a throw");
};

describe("tokenizer.json (in-memory tiny BPE)", () => {
  it("prepends BOS by default exactly when the post-processor would", () => {
    const withBos = new HfJsonTokenizer(tinyJson(true), {}, "tiny.json");
    const the = 258;
    expect(withBos.bos).toBe(259);
    expect(withBos.eos).toBe(260);
    expect(withBos.encode(" the")).toEqual([259, the]);
    expect(withBos.encode(" the", { bos: false })).toEqual([the]);
    const plain = new HfJsonTokenizer(tinyJson(false), {}, "tiny.json");
    expect(plain.encode(" the")).toEqual([the]);
    expect(plain.encode(" the", { bos: true })).toEqual([259, the]);
    const configured = new HfJsonTokenizer(tinyJson(false), { add_bos_token: true }, "tiny.json");
    expect(configured.encode(" the")).toEqual([259, the]);
  });

  it("decodes faithfully (specials kept, no space clean-up) and handles the empty sequence", () => {
    const tok = new HfJsonTokenizer(tinyJson(true), {}, "tiny.json");
    expect(tok.decode([])).toBe("");
    expect(tok.decode(tok.encode("a , b . c"))).toBe("<s>a , b . c");
    expect(tok.idToToken(258)).toBe("Ġthe");
  });

  it("rejects out-of-range ids with InputError naming the id and vocab size", () => {
    const tok = new HfJsonTokenizer(tinyJson(true), {}, "tiny.json");
    const e = caught(() => tok.decode([1, 261])) as InputError;
    expect(e).toBeInstanceOf(InputError);
    expect(e._tag).toBe("InputError");
    expect(e.message).toContain("261");
    expect(e.message).toContain("vocab size 261");
  });

  it("reports invalid JSON, a missing model and an unbuildable model as TokenizerError naming the file", () => {
    const dir = mkdtempSync(join(tmpdir(), "patchbay-hfjson-"));
    try {
      const bad = join(dir, "tokenizer.json");
      writeFileSync(bad, '{"model": {');
      let e = caught(() => readHfJsonTokenizer(bad)) as TokenizerError;
      expect(e).toBeInstanceOf(TokenizerError);
      expect(e._tag).toBe("TokenizerError");
      expect(e.message).toContain(bad);
      expect(e.message).toContain("valid JSON");
      e = caught(() => new HfJsonTokenizer({ version: "1.0" }, {}, bad)) as TokenizerError;
      expect(e._tag).toBe("TokenizerError");
      expect(e.message).toMatch(/tokenizer\.json: model: /);
      e = caught(() => new HfJsonTokenizer({ model: { type: "Nope" } }, {}, bad)) as TokenizerError;
      expect(e._tag).toBe("TokenizerError");
      expect(e.message).toContain("model (type Nope)");
      const config = join(dir, "tokenizer_config.json");
      writeFileSync(config, "[]");
      writeFileSync(bad, JSON.stringify(tinyJson(false)));
      e = caught(() => readHfJsonTokenizer(bad, config)) as TokenizerError;
      expect(e.message).toContain(config);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

warnIfNoSharedModels("tokenizer/hf-json.test.ts: tokenizer.json on the real GPT-2 tokenizer");

describe.skipIf(!hasSharedModels)("tokenizer.json: GPT-2 via @huggingface/tokenizers", () => {
  let tok: HfJsonTokenizer;
  beforeAll(() => {
    tok = readHfJsonTokenizer(sharedModelPath("gpt2-tokenizer", "tokenizer.json"));
  });

  it('encodes "Hello world" as [15496, 995], no BOS by default', () => {
    expect(tok.kind).toBe("tokenizer.json");
    expect(tok.encode("Hello world")).toEqual([15496, 995]);
    expect(tok.vocabSize).toBe(50257);
    expect(tok.bos).toBe(50256);
    expect(tok.eos).toBe(50256);
    expect(tok.encode("Hello world", { bos: true })).toEqual([50256, 15496, 995]);
    expect(tok.idToToken(15496)).toBe("Hello");
  });

  it("round-trips any well-formed string (byte-level BPE is lossless)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 60 }), (s) => {
        expect(tok.decode(tok.encode(s))).toBe(s);
      }),
      { numRuns: 500 },
    );
    expect(tok.decode(tok.encode("Hello .<|endoftext|> , world"))).toBe("Hello .<|endoftext|> , world");
  });

  it("rejects ids out of range", () => {
    const e = caught(() => tok.decode([50257])) as InputError;
    expect(e._tag).toBe("InputError");
    expect(e.message).toContain("50257");
    expect(e.message).toContain("vocab size 50257");
  });
});
