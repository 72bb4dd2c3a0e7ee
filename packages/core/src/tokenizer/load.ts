import { closeSync, existsSync, readdirSync, readSync, statSync } from "node:fs";
import { basename, dirname, extname, join } from "node:path";
import { Effect } from "effect";
import { TokenizerError } from "../errors/errors.ts";
import { openRegularFile } from "../weights/bytes.ts";
import { readGgufMetadata } from "./gguf-read.ts";
import { ggufTokenizerFromMetadata } from "./gguf-vocab.ts";
import { readGpt2Bpe } from "./gpt2-bpe.ts";
import { readHfJsonTokenizer } from "./hf-json.ts";
import { readLlama2cTokenizer } from "./llama2c.ts";
import type { Tokenizer } from "./tokenizer.ts";

/**
 * Where a tokenizer comes from, resolved to concrete files before anything is parsed:
 * - "tokenizer.json": a Hugging Face tokenizer.json, with tokenizer_config.json when it sits beside;
 * - "gpt2-bpe": vocab.json + merges.txt;
 * - "llama2c": a llama2.c tokenizer.bin; vocabSize from the model header when known, else inferred;
 * - "gguf": the vocabulary inside a GGUF file's metadata.
 */
export type TokenizerSource =
  | { readonly kind: "tokenizer.json"; readonly path: string; readonly configPath: string | null }
  | { readonly kind: "gpt2-bpe"; readonly vocabPath: string; readonly mergesPath: string }
  | { readonly kind: "llama2c"; readonly path: string; readonly vocabSize: number | null }
  | { readonly kind: "gguf"; readonly path: string };

const isDir = (p: string): boolean => {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
};

const isFile = (p: string): boolean => {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
};

/** tokenizer.json (+ config) or vocab.json + merges.txt inside a folder, else null. */
const folderSource = (dir: string): TokenizerSource | null => {
  const json = join(dir, "tokenizer.json");
  if (isFile(json)) {
    const config = join(dir, "tokenizer_config.json");
    return { kind: "tokenizer.json", path: json, configPath: isFile(config) ? config : null };
  }
  const vocab = join(dir, "vocab.json");
  if (isFile(vocab)) return { kind: "gpt2-bpe", vocabPath: vocab, mergesPath: join(dir, "merges.txt") };
  return null;
};

/** |vocab_size| from a llama2.c checkpoint header (7 int32; negative means an unshared classifier), or null. */
const llama2cModelVocabSize = (modelPath: string): number | null => {
  let fd: number | null = null;
  try {
    fd = openRegularFile(modelPath).fd; // a FIFO is refused, not waited on
    const header = new Uint8Array(28);
    if (readSync(fd, header, 0, 28, 0) < 28) return null;
    const v = Math.abs(new DataView(header.buffer).getInt32(20, true));
    return v > 0 ? v : null;
  } catch {
    return null;
  } finally {
    if (fd !== null) closeSync(fd);
  }
};

/**
 * A llama2.c tokenizer beside a llama2.c `.bin` model: `tok{vocab}.bin` first, then `tokenizer.bin`,
 * then any other `tok*.bin` (alphabetical). The model's vocab size is passed on, so a tokenizer
 * that does not match the model is a TokenizerError when read rather than a silent mismatch.
 */
const llama2cSource = (modelPath: string): TokenizerSource | null => {
  const dir = dirname(modelPath);
  const vocabSize = llama2cModelVocabSize(modelPath);
  const self = basename(modelPath);
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n !== self && /^tok.*\.bin$/.test(n) && isFile(join(dir, n)));
  } catch {
    return null;
  }
  const preferred = [vocabSize === null ? null : `tok${vocabSize}.bin`, "tokenizer.bin"];
  const ordered = [
    ...preferred.filter((n): n is string => n !== null && names.includes(n)),
    ...names.filter((n) => !preferred.includes(n)).sort(),
  ];
  const first = ordered[0];
  return first === undefined ? null : { kind: "llama2c", path: join(dir, first), vocabSize };
};

/**
 * A folder without tokenizer files that holds one model file, as the weights loader picks it (one
 * `.gguf` or llama2.c `.bin`, tokenizer `tok*.bin` aside): that file's tokenizer; else null.
 */
const bareFolderSource = (dir: string): TokenizerSource | null => {
  let models: string[];
  try {
    models = readdirSync(dir).filter(
      (f) => f.endsWith(".gguf") || (f.endsWith(".bin") && !f.startsWith("tok")),
    );
  } catch {
    return null;
  }
  return models.length === 1 ? locateTokenizer(join(dir, models[0]!)) : null;
};

/**
 * Find the tokenizer that belongs to a model, without parsing it: a folder (or a file's folder) with
 * tokenizer.json or vocab.json (+ merges.txt); a llama2.c `.bin` model with `tok*.bin` / `tokenizer.bin`
 * beside it; a `.gguf` model (its embedded vocabulary); a folder holding one such model file. Null
 * when nothing is there.
 */
export const locateTokenizer = (modelPath: string): TokenizerSource | null => {
  if (!existsSync(modelPath)) return null;
  if (isDir(modelPath)) return folderSource(modelPath) ?? bareFolderSource(modelPath);
  const ext = extname(modelPath).toLowerCase();
  if (ext === ".gguf") return { kind: "gguf", path: modelPath };
  if (ext === ".bin") return llama2cSource(modelPath) ?? folderSource(dirname(modelPath));
  return folderSource(dirname(modelPath));
};

/**
 * What a tokenizer path names, by file name: a folder (as locateTokenizer), `*vocab.json`
 * (merges.txt, or `*merges.txt` with the same prefix, beside), any other `.json` (tokenizer.json),
 * `.bin` (llama2.c tokenizer.bin), `.gguf`. Throws TokenizerError for anything else.
 */
export const tokenizerSource = (path: string): TokenizerSource => {
  if (!existsSync(path)) {
    throw new TokenizerError({
      file: path,
      field: "path",
      expected: "an existing file or folder",
      found: "nothing",
    });
  }
  if (isDir(path)) {
    const found = folderSource(path);
    if (found === null) {
      throw new TokenizerError({
        file: path,
        field: "folder",
        expected: "tokenizer.json or vocab.json + merges.txt",
        found: "neither",
      });
    }
    return found;
  }
  const name = basename(path);
  const ext = extname(name).toLowerCase();
  if (name.endsWith("vocab.json")) {
    const dir = dirname(path);
    const paired = join(dir, name.replace(/vocab\.json$/, "merges.txt"));
    return {
      kind: "gpt2-bpe",
      vocabPath: path,
      mergesPath: isFile(paired) ? paired : join(dir, "merges.txt"),
    };
  }
  if (ext === ".json") {
    const config = join(dirname(path), "tokenizer_config.json");
    return { kind: "tokenizer.json", path, configPath: isFile(config) ? config : null };
  }
  if (ext === ".bin") return { kind: "llama2c", path, vocabSize: null };
  if (ext === ".gguf") return { kind: "gguf", path };
  throw new TokenizerError({
    file: path,
    field: "file type",
    expected: "tokenizer.json, vocab.json (+ merges.txt), a llama2.c tokenizer .bin or a .gguf",
    found: ext === "" ? "no extension" : ext,
  });
};

/**
 * Read a non-GGUF source synchronously. Throws TokenizerError.
 * GGUF needs an async header read for now (readTokenizer / loadTokenizer, or ggufTokenizerFromMetadata).
 */
export const readTokenizerSync = (source: Exclude<TokenizerSource, { kind: "gguf" }>): Tokenizer => {
  switch (source.kind) {
    case "tokenizer.json":
      return readHfJsonTokenizer(source.path, source.configPath);
    case "gpt2-bpe":
      if (!isFile(source.mergesPath)) {
        throw new TokenizerError({
          file: source.vocabPath,
          field: "merges.txt",
          expected: `a merges.txt beside vocab.json (${source.mergesPath})`,
          found: "no such file",
        });
      }
      return readGpt2Bpe(source.vocabPath, source.mergesPath);
    case "llama2c":
      return readLlama2cTokenizer(source.path, source.vocabSize ?? undefined);
  }
};

/** The GGUF-embedded vocabulary, or null when the file carries none (no tokenizer.ggml.tokens). */
const readGgufTokenizer = async (path: string): Promise<Tokenizer | null> => {
  const metadata = await readGgufMetadata(path);
  if (metadata["tokenizer.ggml.tokens"] === undefined) return null;
  return ggufTokenizerFromMetadata(metadata, path);
};

/** Read any source. Rejects with TokenizerError. */
export const readTokenizer = async (source: TokenizerSource): Promise<Tokenizer> => {
  if (source.kind !== "gguf") return readTokenizerSync(source);
  const tok = await readGgufTokenizer(source.path);
  if (tok === null) {
    throw new TokenizerError({
      file: source.path,
      field: "tokenizer.ggml.tokens",
      expected: "an embedded vocabulary",
      found: "nothing (key absent)",
    });
  }
  return tok;
};

/** Anything thrown by the readers that is not already typed becomes a TokenizerError naming the file. */
const asTokenizerError =
  (file: string) =>
  (e: unknown): TokenizerError =>
    e instanceof TokenizerError
      ? e
      : new TokenizerError({
          file,
          field: "tokenizer",
          expected: "a loadable tokenizer",
          found: e instanceof Error ? e.message : String(e),
        });

/**
 * Load the tokenizer at `path` (tokenizer.json, vocab.json + merges.txt, llama2.c .bin, .gguf, or a folder).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, writeFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { Tokenizer } from "@patchbay/core";
 * import { Effect } from "effect";
 *
 * // a tiny byte-level BPE tokenizer.json: "hi hi" → ["hi", "Ġhi"]
 * const dir = mkdtempSync(join(tmpdir(), "tok-"));
 * writeFileSync(
 *   join(dir, "tokenizer.json"),
 *   JSON.stringify({
 *     model: { type: "BPE", vocab: { h: 0, i: 1, "Ġ": 2, hi: 3, "Ġhi": 4 }, merges: ["h i", "Ġ hi"] },
 *     pre_tokenizer: { type: "ByteLevel", add_prefix_space: false },
 *     decoder: { type: "ByteLevel" },
 *   }),
 * );
 *
 * const tok = await Effect.runPromise(Tokenizer.loadTokenizer(dir)); // the folder, or the file itself
 * assert.equal(tok.kind, "tokenizer.json");
 * const error = await Effect.runPromise(Effect.flip(Tokenizer.loadTokenizer(join(dir, "nothing.json"))));
 * assert.equal(error._tag, "TokenizerError");
 * ```
 */
export const loadTokenizer = (path: string): Effect.Effect<Tokenizer, TokenizerError> =>
  Effect.tryPromise({
    try: async () => readTokenizer(tokenizerSource(path)),
    catch: asTokenizerError(path),
  });

/**
 * The tokenizer belonging to a model (see locateTokenizer); null when there is none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, writeFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { Tokenizer } from "@patchbay/core";
 * import { Effect } from "effect";
 *
 * // a tiny byte-level BPE tokenizer.json: "hi hi" → ["hi", "Ġhi"]
 * const dir = mkdtempSync(join(tmpdir(), "tok-"));
 * writeFileSync(
 *   join(dir, "tokenizer.json"),
 *   JSON.stringify({
 *     model: { type: "BPE", vocab: { h: 0, i: 1, "Ġ": 2, hi: 3, "Ġhi": 4 }, merges: ["h i", "Ġ hi"] },
 *     pre_tokenizer: { type: "ByteLevel", add_prefix_space: false },
 *     decoder: { type: "ByteLevel" },
 *   }),
 * );
 *
 * const tok = await Effect.runPromise(Tokenizer.findTokenizer(dir)); // a model folder with its tokenizer inside
 * assert.deepEqual(tok?.encode("hi"), [3]);
 * const none = await Effect.runPromise(Tokenizer.findTokenizer(mkdtempSync(join(tmpdir(), "empty-"))));
 * assert.equal(none, null);
 * ```
 */
export const findTokenizer = (modelPath: string): Effect.Effect<Tokenizer | null, TokenizerError> =>
  Effect.tryPromise({
    try: async (): Promise<Tokenizer | null> => {
      const source = locateTokenizer(modelPath);
      if (source === null) return null;
      if (source.kind === "gguf") return readGgufTokenizer(source.path);
      return readTokenizerSync(source);
    },
    catch: asTokenizerError(modelPath),
  });
