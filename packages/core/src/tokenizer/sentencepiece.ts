import { mergePairs } from "./merge.ts";
import {
  bosPrefix,
  ByteSink,
  checkId,
  checkIds,
  type EncodeOptions,
  encodeUtf8,
  type Tokenizer,
  type TokenizerKind,
} from "./tokenizer.ts";

/**
 * SentencePiece-style BPE as llama2.c's run.c runs it, shared by the llama2.c `tokenizer.bin`
 * and the GGUF-embedded llama vocabulary (one algorithm, two vocabulary sources).
 *
 * Encode: prepend the dummy-prefix space (unless the text is empty), split into code points,
 * look each up as a piece (else byte-fallback tokens for its UTF-8 bytes), then repeatedly merge the
 * adjacent pair whose concatenated piece text is in the vocabulary with the highest score (leftmost on
 * ties; scores ≤ -1e10 never merge, as in run.c). BOS, when asked for, is prepended and never merged.
 *
 * Decode: control tokens (BOS, EOS) print nothing; a piece right after BOS loses one leading space
 * (the dummy prefix); byte tokens `<0xNN>` are raw bytes; the whole byte string is decoded as UTF-8
 * once at the end, so characters split over byte tokens come out whole.
 * Round trip: decode(encode(s)) === s with BOS, " " + s without (the dummy prefix), for well-formed s.
 */

export interface SentencePieceVocab {
  readonly kind: Extract<TokenizerKind, "llama2c" | "gguf">;
  /** Piece text with spaces as " " (the form run.c matches against). */
  readonly pieces: readonly string[];
  /** The piece as the source file spells it (llama2.c: spaces; GGUF: "▁"), for idToToken. */
  readonly spellings: readonly string[];
  readonly scores: ArrayLike<number>;
  /** byteOf[id] is the raw byte of a byte token `<0xNN>`, or -1. */
  readonly byteOf: Int16Array;
  /** byteFallback[b] is the id emitted for byte b when a character is not a piece. */
  readonly byteFallback: Int32Array;
  /** Ids that decode to nothing (BOS, EOS). */
  readonly control: ReadonlySet<number>;
  readonly bos: number | null;
  readonly eos: number | null;
  /** Prepend BOS when encode is not told otherwise. */
  readonly addBos: boolean;
  /** Prepend the SentencePiece dummy-prefix space. */
  readonly addDummyPrefix: boolean;
}

/** run.c starts its best score at -1e10 and merges only strictly better pairs. */
const MIN_MERGE_SCORE = -1e10;

const BYTE_PIECE = /^<0x([0-9A-Fa-f]{2})>$/;

/** The byte of a `<0xNN>` piece, or -1. */
export const bytePieceValue = (piece: string): number => {
  const m = BYTE_PIECE.exec(piece);
  return m === null ? -1 : Number.parseInt(m[1]!, 16);
};

export class SentencePieceTokenizer implements Tokenizer {
  readonly kind: SentencePieceVocab["kind"];
  readonly vocabSize: number;
  readonly bos: number | null;
  readonly eos: number | null;
  private readonly v: SentencePieceVocab;
  /** Piece text → id; the first id wins if a text repeats. */
  private readonly lookup = new Map<string, number>();
  private readonly pieceBytes: Uint8Array[];

  constructor(vocab: SentencePieceVocab) {
    this.v = vocab;
    this.kind = vocab.kind;
    this.vocabSize = vocab.pieces.length;
    this.bos = vocab.bos;
    this.eos = vocab.eos;
    vocab.pieces.forEach((p, id) => {
      if (!this.lookup.has(p)) this.lookup.set(p, id);
    });
    this.pieceBytes = vocab.pieces.map(encodeUtf8);
  }

  encode(text: string, opts?: EncodeOptions): number[] {
    const head = bosPrefix(this.bos, opts?.bos, this.v.addBos, `${this.kind} vocabulary`);
    if (text === "") return head;
    const symbols: number[] = [];
    const pushChar = (ch: string): void => {
      const id = this.lookup.get(ch);
      if (id !== undefined) {
        symbols.push(id);
        return;
      }
      for (const b of encodeUtf8(ch)) symbols.push(this.v.byteFallback[b]!);
    };
    if (this.v.addDummyPrefix) pushChar(" ");
    for (const ch of text) pushChar(ch);
    const { pieces, scores } = this.v;
    const merged = mergePairs(symbols, (l, r) => {
      const id = this.lookup.get(pieces[l]! + pieces[r]!);
      if (id === undefined) return undefined;
      const score = scores[id]!;
      return score > MIN_MERGE_SCORE ? { symbol: id, priority: -score } : undefined;
    });
    return head.concat(merged);
  }

  decode(ids: readonly number[]): string {
    checkIds(ids, this.vocabSize);
    const out = new ByteSink();
    let prev = -1;
    for (const id of ids) {
      const afterBos = prev === this.bos;
      prev = id;
      if (this.v.control.has(id)) continue;
      const b = this.v.byteOf[id]!;
      if (b >= 0) {
        out.push(b);
        continue;
      }
      const bytes = this.pieceBytes[id]!;
      // following BOS, drop the dummy-prefix space (run.c; sentencepiece PR #89)
      out.pushAll(afterBos && bytes[0] === 0x20 ? bytes.subarray(1) : bytes);
    }
    return out.toString();
  }

  idToToken(id: number): string {
    checkId(id, this.vocabSize);
    return this.v.spellings[id]!;
  }
}
