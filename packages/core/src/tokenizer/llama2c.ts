import { TokenizerError } from "../errors/errors.ts";
import { readRegularFile } from "../weights/bytes.ts";
import { bytePieceValue, SentencePieceTokenizer } from "./sentencepiece.ts";

/**
 * llama2.c `tokenizer.bin` (e.g. `tok512.bin`), as written by llama2.c's tokenizer.py export:
 * little-endian int32 max_token_length, then per token float32 score, int32 byte length, UTF-8 bytes.
 * "▁" is already written as a space; BOS is "\n<s>\n" and EOS "\n</s>\n".
 *
 * The file does not store the vocabulary size. run.c takes it from the model header; here it is
 * the `vocabSize` argument when given (the file must then hold exactly that many records), and
 * otherwise inferred as the number of records that fill the file.
 *
 * Fixed ids as in run.c: 0 <unk>, 1 BOS, 2 EOS, 3 + b the byte token <0xbb>. Encoding defaults to BOS.
 */

const BOS = 1;
const EOS = 2;
const BYTE_OFFSET = 3;
/** A sanity bound on max_token_length; real files have 7 (tok512) to ~50 (Llama 2). */
const MAX_TOKEN_LENGTH_LIMIT = 1 << 16;

const utf8Strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Parse a llama2.c tokenizer.bin. Throws TokenizerError naming the file and the offending field.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Tokenizer } from "@patchbay/core";
 *
 * // a llama2.c tokenizer.bin: int32 max_token_length, then per token float32 score, int32 length, UTF-8
 * const hex = (b: number) => `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`;
 * const pieces = ["<unk>", "\n<s>\n", "\n</s>\n", ...Array.from({ length: 256 }, (_, b) => hex(b)), " hi", "h", "i"];
 * const bytes: number[] = [...new Uint8Array(new Int32Array([6]).buffer)];
 * for (const [i, piece] of pieces.entries()) {
 *   const utf8 = new TextEncoder().encode(piece);
 *   const head = new DataView(new ArrayBuffer(8));
 *   head.setFloat32(0, i === 259 ? 1 : 0, true);
 *   head.setInt32(4, utf8.length, true);
 *   bytes.push(...new Uint8Array(head.buffer), ...utf8);
 * }
 *
 * const tok = Tokenizer.parseLlama2cTokenizer(new Uint8Array(bytes), "tokenizer.bin");
 * assert.equal(tok.vocabSize, 262);
 * assert.equal(tok.encode("hi")[0], tok.bos); // llama-style: BOS first
 * assert.equal(Tokenizer.visiblePiece(tok, 259), "▁hi");
 * ```
 */
export const parseLlama2cTokenizer = (
  bytes: Uint8Array,
  file: string,
  vocabSize?: number,
): SentencePieceTokenizer => {
  const fail = (field: string, expected: string, found: string): never => {
    throw new TokenizerError({ file, field, expected, found });
  };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4) fail("max_token_length", "an int32 header (4 bytes)", `${bytes.length} bytes`);
  const maxTokenLength = view.getInt32(0, true);
  if (maxTokenLength <= 0 || maxTokenLength > MAX_TOKEN_LENGTH_LIMIT) {
    fail("max_token_length", `an int32 in [1, ${MAX_TOKEN_LENGTH_LIMIT}]`, String(maxTokenLength));
  }
  if (vocabSize !== undefined && (!Number.isInteger(vocabSize) || vocabSize <= 0)) {
    fail("vocab_size", "a positive integer (from the model header)", String(vocabSize));
  }

  const pieces: string[] = [];
  const scores: number[] = [];
  let off = 4;
  while (vocabSize === undefined ? off < bytes.length : pieces.length < vocabSize) {
    const i = pieces.length;
    if (off + 8 > bytes.length) {
      fail(
        `token ${i} header at byte ${off}`,
        vocabSize === undefined
          ? "8 bytes (float32 score, int32 length)"
          : `${vocabSize} tokens (vocab_size from the model)`,
        `${bytes.length - off} bytes left (file is ${bytes.length} bytes)`,
      );
    }
    const score = view.getFloat32(off, true);
    const len = view.getInt32(off + 4, true);
    if (Number.isNaN(score)) fail(`token ${i} score at byte ${off}`, "a float32 number", "NaN");
    if (len < 0 || len > maxTokenLength) {
      fail(
        `token ${i} length at byte ${off + 4}`,
        `a length in [0, ${maxTokenLength}] (max_token_length)`,
        String(len),
      );
    }
    off += 8;
    if (off + len > bytes.length) {
      fail(`token ${i} bytes at byte ${off}`, `${len} bytes`, `${bytes.length - off} bytes left`);
    }
    let piece: string;
    try {
      piece = utf8Strict.decode(bytes.subarray(off, off + len));
    } catch {
      return fail(`token ${i} bytes at byte ${off}`, "UTF-8 text", "invalid UTF-8");
    }
    off += len;
    pieces.push(piece);
    scores.push(score);
  }
  if (off !== bytes.length) {
    fail(
      "file length",
      `${off} bytes for ${pieces.length} tokens (vocab_size from the model)`,
      `${bytes.length} bytes (${bytes.length - off} trailing)`,
    );
  }
  if (pieces.length < BYTE_OFFSET + 256) {
    fail(
      "vocab size",
      `at least ${BYTE_OFFSET + 256} tokens (<unk>, BOS, EOS, 256 byte tokens)`,
      String(pieces.length),
    );
  }

  // run.c's byte fallback writes id = byte + 3 without checking; make sure those ids really are bytes
  const byteFallback = new Int32Array(256);
  for (let b = 0; b < 256; b++) {
    const id = b + BYTE_OFFSET;
    if (bytePieceValue(pieces[id]!) !== b) {
      fail(
        `token ${id}`,
        `the byte token <0x${b.toString(16).toUpperCase().padStart(2, "0")}>`,
        JSON.stringify(pieces[id]),
      );
    }
    byteFallback[b] = id;
  }
  // run.c's decode treats any piece spelled <0xNN> as a raw byte
  const byteOf = Int16Array.from(pieces, bytePieceValue);

  return new SentencePieceTokenizer({
    kind: "llama2c",
    pieces,
    spellings: pieces,
    scores: Float32Array.from(scores),
    byteOf,
    byteFallback,
    control: new Set([BOS, EOS]),
    bos: BOS,
    eos: EOS,
    addBos: true,
    addDummyPrefix: true,
  });
};

/**
 * Read a llama2.c tokenizer.bin from disk. Throws TokenizerError.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, writeFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { Tokenizer } from "@patchbay/core";
 *
 * // a llama2.c tokenizer.bin: int32 max_token_length, then per token float32 score, int32 length, UTF-8
 * const hex = (b: number) => `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`;
 * const pieces = ["<unk>", "\n<s>\n", "\n</s>\n", ...Array.from({ length: 256 }, (_, b) => hex(b)), " hi", "h", "i"];
 * const bytes: number[] = [...new Uint8Array(new Int32Array([6]).buffer)];
 * for (const [i, piece] of pieces.entries()) {
 *   const utf8 = new TextEncoder().encode(piece);
 *   const head = new DataView(new ArrayBuffer(8));
 *   head.setFloat32(0, i === 259 ? 1 : 0, true);
 *   head.setInt32(4, utf8.length, true);
 *   bytes.push(...new Uint8Array(head.buffer), ...utf8);
 * }
 *
 * const file = join(mkdtempSync(join(tmpdir(), "llama2c-")), "tokenizer.bin");
 * writeFileSync(file, new Uint8Array(bytes));
 * assert.equal(Tokenizer.readLlama2cTokenizer(file).kind, "llama2c");
 * assert.throws(() => Tokenizer.readLlama2cTokenizer(file, 300), { _tag: "TokenizerError" }); // 262 records, not 300
 * ```
 */
export const readLlama2cTokenizer = (path: string, vocabSize?: number): SentencePieceTokenizer => {
  let bytes: Uint8Array;
  try {
    bytes = readRegularFile(path);
  } catch (e) {
    throw new TokenizerError({
      file: path,
      field: "tokenizer.bin",
      expected: "a readable file",
      found: e instanceof Error ? e.message : String(e),
    });
  }
  return parseLlama2cTokenizer(bytes, path, vocabSize);
};
