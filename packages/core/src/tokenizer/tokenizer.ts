import { InputError, TokenizerError } from "../errors/errors.ts";

/** Which vocabulary source a tokenizer was built from. */
export type TokenizerKind = "tokenizer.json" | "gpt2-bpe" | "llama2c" | "gguf";

export interface EncodeOptions {
  /** Prepend the BOS id. Default: true for llama-style tokenizers (llama2c, gguf llama), false for GPT-2. */
  readonly bos?: boolean;
}

/**
 * The common interface of every tokenizer patchbay can load. Ids are plain numbers in [0, vocabSize).
 * `decode` throws InputError for an id outside the vocabulary; `encode` throws TokenizerError only when
 * asked for a BOS (`{ bos: true }`) the vocabulary does not have.
 */
export interface Tokenizer {
  readonly kind: TokenizerKind;
  readonly vocabSize: number;
  readonly bos: number | null;
  readonly eos: number | null;
  encode(text: string, opts?: EncodeOptions): number[];
  decode(ids: readonly number[]): string;
  /** The piece as the vocabulary spells it (GPT-2 "Ġthe", SentencePiece "▁the"), for reports. */
  idToToken(id: number): string;
}

/** Throws InputError unless `id` is an integer id of a vocabulary of `vocabSize` tokens. */
export const checkId = (id: number, vocabSize: number, field = "token id"): void => {
  if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
    throw new InputError({
      field,
      expected: `an integer id in [0, ${vocabSize}) (vocab size ${vocabSize})`,
      found: String(id),
    });
  }
};

/** checkId over a whole sequence; the error names the position. */
export const checkIds = (ids: readonly number[], vocabSize: number): void => {
  ids.forEach((id, i) => {
    checkId(id, vocabSize, `token id at position ${i}`);
  });
};

/** UTF-8 decoding that never throws: invalid sequences become U+FFFD (as HF and llama.cpp print them). */
const utf8 = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
export const decodeUtf8 = (bytes: Uint8Array): string => utf8.decode(bytes);

const utf8Encoder = new TextEncoder();
export const encodeUtf8 = (text: string): Uint8Array => utf8Encoder.encode(text);

/** A growable byte buffer for decoders that assemble raw bytes before one UTF-8 decode at the end. */
export class ByteSink {
  private buf = new Uint8Array(64);
  private n = 0;
  push(b: number): void {
    if (this.n === this.buf.length) this.grow(1);
    this.buf[this.n++] = b;
  }
  pushAll(bytes: Uint8Array): void {
    if (this.n + bytes.length > this.buf.length) this.grow(bytes.length);
    this.buf.set(bytes, this.n);
    this.n += bytes.length;
  }
  toString(): string {
    return decodeUtf8(this.buf.subarray(0, this.n));
  }
  private grow(extra: number): void {
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.n + extra));
    next.set(this.buf.subarray(0, this.n));
    this.buf = next;
  }
}

/**
 * The ids encode puts before the text: [bos] when asked (`asked`, else `byDefault`), [] otherwise.
 * Asking explicitly for a BOS the vocabulary lacks (Qwen2 has none) is a TokenizerError naming
 * `source`, never a silent no-op; the default simply has none.
 */
export const bosPrefix = (
  bos: number | null,
  asked: boolean | undefined,
  byDefault: boolean,
  source: string,
): number[] => {
  if (asked === true && bos === null) {
    throw new TokenizerError({
      file: source,
      field: "bos",
      expected: "a BOS token in the vocabulary (encode was asked for one with { bos: true })",
      found: "no BOS token",
    });
  }
  return (asked ?? byDefault) && bos !== null ? [bos] : [];
};
