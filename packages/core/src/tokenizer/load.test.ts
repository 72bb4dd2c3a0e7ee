import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect, Either } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TokenizerError } from "../errors/errors.ts";
import { hasSharedModels, sharedModelPath, warnIfNoSharedModels } from "../testing/shared.ts";
import { testdataPath } from "../testing/testdata.ts";
import { findTokenizer, loadTokenizer, locateTokenizer, readTokenizerSync, tokenizerSource } from "./load.ts";
import type { Tokenizer } from "./tokenizer.ts";
import { llama2cBasePieces, writeLlama2cTokenizer, writeMergesFromTokenizerJson } from "./test-support.ts";

const load = (path: string) => Effect.runPromise(Effect.either(loadTokenizer(path)));
const find = (path: string) => Effect.runPromise(Effect.either(findTokenizer(path)));

const expectError = (r: Either.Either<unknown, TokenizerError>, ...mentions: string[]): TokenizerError => {
  expect(Either.isLeft(r)).toBe(true);
  const e = (r as Either.Left<TokenizerError, unknown>).left;
  expect(e).toBeInstanceOf(TokenizerError);
  expect(e._tag).toBe("TokenizerError");
  for (const m of mentions) expect(e.message).toContain(m);
  return e;
};

const right = <A>(r: Either.Either<A, TokenizerError>): A => {
  if (Either.isLeft(r)) throw r.left;
  return r.right;
};

/** A llama2.c v0 checkpoint header (7 int32) with the given vocab size; the weights do not matter here. */
const llama2cHeader = (vocabSize: number): Uint8Array => {
  const h = new Int32Array([64, 172, 5, 8, 4, vocabSize, 512]);
  return new Uint8Array(h.buffer);
};

describe("loading and locating tokenizers (synthetic files)", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "patchbay-load-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("finds nothing where there is nothing", async () => {
    const empty = join(dir, "empty");
    mkdirSync(empty);
    expect(locateTokenizer(empty)).toBeNull();
    expect(locateTokenizer(join(dir, "missing"))).toBeNull();
    expect(right(await find(empty))).toBeNull();
    expect(right(await find(join(dir, "missing", "model.onnx")))).toBeNull();
  });

  it("finds tok{vocab}.bin beside a llama2.c model before tokenizer.bin and other tok*.bin", async () => {
    const m = join(dir, "llama");
    mkdirSync(m);
    const pieces = [...llama2cBasePieces(), " ", "a"];
    const tok = writeLlama2cTokenizer(
      pieces,
      pieces.map(() => 0),
    );
    writeFileSync(join(m, "model.bin"), llama2cHeader(-261)); // negative: unshared classifier
    writeFileSync(join(m, "tok261.bin"), tok);
    writeFileSync(join(m, "tokenizer.bin"), tok);
    writeFileSync(join(m, "tok999.bin"), tok);
    expect(locateTokenizer(join(m, "model.bin"))).toEqual({
      kind: "llama2c",
      path: join(m, "tok261.bin"),
      vocabSize: 261,
    });
    const found = right(await find(join(m, "model.bin")));
    expect(found?.kind).toBe("llama2c");
    expect(found?.vocabSize).toBe(261);
    // the folder itself (the weights loader takes its one model file): that model's tokenizer
    expect(locateTokenizer(m)).toEqual(locateTokenizer(join(m, "model.bin")));
    writeFileSync(join(m, "other.gguf"), "");
    expect(locateTokenizer(m)).toBeNull(); // two model files: neither is the folder's
  });

  it("reports a tokenizer beside a llama2.c model that does not match its vocab size", async () => {
    const m = join(dir, "mismatch");
    mkdirSync(m);
    const pieces = [...llama2cBasePieces(), " ", "a"];
    writeFileSync(join(m, "model.bin"), llama2cHeader(512));
    writeFileSync(
      join(m, "tokenizer.bin"),
      writeLlama2cTokenizer(
        pieces,
        pieces.map(() => 0),
      ),
    );
    expectError(
      await find(join(m, "model.bin")),
      join(m, "tokenizer.bin"),
      "512 tokens (vocab_size from the model)",
    );
  });

  it("reports a missing merges.txt beside vocab.json", async () => {
    const m = join(dir, "nomerges");
    mkdirSync(m);
    writeFileSync(join(m, "vocab.json"), '{"a": 0}');
    expectError(await load(join(m, "vocab.json")), join(m, "vocab.json"), "merges.txt");
    expectError(await find(m), "merges.txt");
  });

  it("reports invalid JSON, unknown file types, missing paths and truncated .bin files with the file name", async () => {
    const bad = join(dir, "tokenizer.json");
    writeFileSync(bad, "{ not json");
    expectError(await load(bad), bad, "valid JSON");
    const txt = join(dir, "weird.txt");
    writeFileSync(txt, "hello");
    expectError(await load(txt), txt, "file type");
    expectError(await load(join(dir, "nope.bin")), join(dir, "nope.bin"), "existing file");
    const trunc = join(dir, "tok.bin");
    writeFileSync(trunc, new Uint8Array([7, 0, 0, 0, 0, 0]));
    expectError(await load(trunc), trunc, "token 0 header");
    expect(() => tokenizerSource(txt)).toThrow(TokenizerError);
  });

  it("reports a GGUF without an embedded vocabulary or a broken GGUF", async () => {
    const broken = join(dir, "broken.gguf");
    writeFileSync(broken, "GGUF but then nothing sensible");
    expectError(await load(broken), broken);
    expectError(await find(broken), broken);
  });
});

describe("findTokenizer on a tiny fixture (testdata)", () => {
  it("a Hugging Face folder without a tokenizer (tiny-gpt2) has none", async () => {
    expect(right(await find(testdataPath("fixtures", "tiny-gpt2")))).toBeNull();
  });
});

warnIfNoSharedModels(
  "tokenizer/load.test.ts: loading the real tokenizers through loadTokenizer / findTokenizer",
);

describe.skipIf(!hasSharedModels)("loadTokenizer / findTokenizer on the shared models", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "patchbay-load-shared-"));
    // a GPT-2 folder: symlinks to the shared files plus a merges.txt written from tokenizer.json
    mkdirSync(join(dir, "gpt2-bpe"));
    symlinkSync(sharedModelPath("gpt2-tokenizer", "vocab.json"), join(dir, "gpt2-bpe", "vocab.json"));
    writeMergesFromTokenizerJson(sharedModelPath("gpt2-tokenizer", "tokenizer.json"), join(dir, "gpt2-bpe"));
    writeFileSync(join(dir, "gpt2-bpe", "model.onnx"), "");
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const hello = (t: Tokenizer) => expect(t.encode("Hello world")).toEqual([15496, 995]);

  it("loads each kind from its file", async () => {
    const json = right(await load(sharedModelPath("gpt2-tokenizer", "tokenizer.json")));
    expect(json.kind).toBe("tokenizer.json");
    hello(json);
    const bpe = right(await load(join(dir, "gpt2-bpe", "vocab.json")));
    expect(bpe.kind).toBe("gpt2-bpe");
    hello(bpe);
    const bin = right(await load(sharedModelPath("stories260K", "tok512.bin")));
    expect(bin.kind).toBe("llama2c");
    const gguf = right(await load(sharedModelPath("stories260K", "stories260K.gguf")));
    expect(gguf.kind).toBe("gguf");
    expect(gguf.encode("Once upon a time")).toEqual(bin.encode("Once upon a time"));
    expect(right(await load(sharedModelPath("gpt2-tokenizer"))).kind).toBe("tokenizer.json");
  });

  it("finds the tokenizer beside or inside each model", async () => {
    const fromBin = right(await find(sharedModelPath("stories260K", "stories260K.bin")));
    expect(fromBin?.kind).toBe("llama2c");
    expect(fromBin?.vocabSize).toBe(512);
    expect(locateTokenizer(sharedModelPath("stories260K", "stories260K.bin"))).toMatchObject({
      kind: "llama2c",
      path: sharedModelPath("stories260K", "tok512.bin"),
      vocabSize: 512,
    });
    const fromGguf = right(await find(sharedModelPath("stories260K", "stories260K.gguf")));
    expect(fromGguf?.kind).toBe("gguf");
    // a folder holding only a GGUF file (as the weights loader accepts it): its embedded vocabulary
    mkdirSync(join(dir, "gguf-only"));
    symlinkSync(sharedModelPath("stories260K", "stories260K.gguf"), join(dir, "gguf-only", "model.gguf"));
    const fromGgufFolder = right(await find(join(dir, "gguf-only")));
    expect(fromGgufFolder?.kind).toBe("gguf");
    expect(fromGgufFolder?.encode("Once upon a time")).toEqual(fromGguf?.encode("Once upon a time"));
    const fromFolder = right(await find(sharedModelPath("gpt2-tokenizer")));
    expect(fromFolder?.kind).toBe("tokenizer.json");
    const besideOnnx = right(await find(join(dir, "gpt2-bpe", "model.onnx")));
    expect(besideOnnx?.kind).toBe("gpt2-bpe");
    hello(besideOnnx!);
  });

  it("reads non-GGUF sources synchronously", () => {
    const src = locateTokenizer(sharedModelPath("stories260K", "stories260K.bin"));
    expect(src?.kind).toBe("llama2c");
    if (src !== null && src.kind !== "gguf") expect(readTokenizerSync(src).vocabSize).toBe(512);
  });
});
