import { TokenizerError } from "../errors/errors.ts";
import { readRegularFile } from "../weights/bytes.ts";
import { byteToChar, charToByte } from "./byte-unicode.ts";
import { mergePairs } from "./merge.ts";
import {
  ByteSink,
  bosPrefix,
  checkId,
  checkIds,
  type EncodeOptions,
  encodeUtf8,
  type Tokenizer,
} from "./tokenizer.ts";

/**
 * GPT-2 byte-level BPE from `vocab.json` + `merges.txt`, written from encoder.py:
 * split special tokens out, pre-tokenize with GPT-2's regex, map each chunk's UTF-8 bytes through
 * the byte ↔ unicode table, merge by rank, look the pieces up in the vocabulary.
 * Lossless: decode(encode(s)) === s for any well-formed string.
 */

/** GPT-2's pre-tokenizer: contractions, letters, digits, other symbols, each with an optional leading space. */
export const GPT2_PRETOKENIZE =
  /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** Vocabulary entries treated as special tokens: matched verbatim in text, never BPE-merged (e.g. `<|endoftext|>`). */
const SPECIAL = /^<\|[^\s]*\|>$/;

const CACHE_LIMIT = 50_000;
const CACHE_WORD_LIMIT = 256;

export type MergePair = readonly [string, string];

export class Gpt2Bpe implements Tokenizer {
  readonly kind = "gpt2-bpe" as const;
  readonly vocabSize: number;
  readonly bos: number | null;
  readonly eos: number | null;
  private readonly vocab: ReadonlyMap<string, number>;
  private readonly pieces: readonly string[];
  private readonly ranks = new Map<string, number>();
  private readonly specialIds: ReadonlySet<number>;
  private readonly specialSplit: RegExp | null;
  private readonly cache = new Map<string, readonly number[]>();

  /** `files` name the sources in errors. Throws TokenizerError on an inconsistent vocabulary or merge list. */
  constructor(
    vocab: ReadonlyMap<string, number>,
    merges: readonly MergePair[],
    private readonly files: { readonly vocab: string; readonly merges: string },
  ) {
    const pieces: string[] = [];
    for (const [piece, id] of vocab) {
      if (!Number.isInteger(id) || id < 0 || id >= vocab.size || pieces[id] !== undefined) {
        throw new TokenizerError({
          file: files.vocab,
          field: `vocab entry ${JSON.stringify(piece)}`,
          expected: `ids 0..${vocab.size - 1}, each used once`,
          found:
            pieces[id] !== undefined ? `id ${id} also used by ${JSON.stringify(pieces[id])}` : `id ${id}`,
        });
      }
      pieces[id] = piece;
    }
    for (let b = 0; b < 256; b++) {
      if (!vocab.has(byteToChar[b]!)) {
        throw new TokenizerError({
          file: files.vocab,
          field: "vocab",
          expected: "all 256 byte-level base pieces",
          found: `no piece ${JSON.stringify(byteToChar[b])} for byte 0x${b.toString(16).padStart(2, "0")}`,
        });
      }
    }
    merges.forEach(([a, b], rank) => {
      if (!vocab.has(a + b)) {
        throw new TokenizerError({
          file: files.merges,
          field: `merge ${rank} (${JSON.stringify(`${a} ${b}`)})`,
          expected: "the merged piece to be in the vocabulary",
          found: `no piece ${JSON.stringify(a + b)}`,
        });
      }
      const key = `${a} ${b}`;
      if (!this.ranks.has(key)) this.ranks.set(key, rank);
    });
    this.vocab = vocab;
    this.pieces = pieces;
    this.vocabSize = pieces.length;
    const specials = pieces.filter((p) => SPECIAL.test(p));
    this.specialIds = new Set(specials.map((p) => vocab.get(p)!));
    this.specialSplit =
      specials.length === 0
        ? null
        : new RegExp(
            `(${specials
              .sort((x, y) => y.length - x.length)
              .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
              .join("|")})`,
            "u",
          );
    const eot = vocab.get("<|endoftext|>");
    this.bos = eot ?? null;
    this.eos = eot ?? null;
  }

  encode(text: string, opts?: EncodeOptions): number[] {
    const ids: number[] = bosPrefix(this.bos, opts?.bos, false, this.files.vocab);
    const segments = this.specialSplit === null ? [text] : text.split(this.specialSplit);
    segments.forEach((segment, i) => {
      // split with one capture group: odd segments are the special tokens themselves
      if (i % 2 === 1) {
        ids.push(this.vocab.get(segment)!);
        return;
      }
      for (const word of segment.match(GPT2_PRETOKENIZE) ?? []) {
        for (const id of this.encodeWord(word)) ids.push(id);
      }
    });
    return ids;
  }

  decode(ids: readonly number[]): string {
    checkIds(ids, this.vocabSize);
    const out = new ByteSink();
    for (const id of ids) {
      const piece = this.pieces[id]!;
      if (this.specialIds.has(id)) {
        out.pushAll(encodeUtf8(piece));
        continue;
      }
      for (const ch of piece) {
        const b = charToByte.get(ch);
        if (b === undefined) out.pushAll(encodeUtf8(ch));
        else out.push(b);
      }
    }
    return out.toString();
  }

  idToToken(id: number): string {
    checkId(id, this.vocabSize);
    return this.pieces[id]!;
  }

  /** BPE on one pre-tokenized chunk, memoised. */
  private encodeWord(word: string): readonly number[] {
    const hit = this.cache.get(word);
    if (hit !== undefined) return hit;
    const chars = Array.from(encodeUtf8(word), (b) => byteToChar[b]!);
    const merged = mergePairs(chars, (l, r) => {
      const rank = this.ranks.get(`${l} ${r}`);
      return rank === undefined ? undefined : { symbol: l + r, priority: rank };
    });
    // every merge result and every base byte was checked to be in the vocabulary
    const ids = merged.map((p) => this.vocab.get(p)!);
    if (word.length < CACHE_WORD_LIMIT) {
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(word, ids);
    }
    return ids;
  }
}

/** Parse vocab.json: an object piece → id. */
export const parseVocabJson = (text: string, file: string): Map<string, number> => {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new TokenizerError({
      file,
      field: "vocab.json",
      expected: "valid JSON",
      found: e instanceof Error ? e.message : String(e),
    });
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new TokenizerError({
      file,
      field: "vocab.json",
      expected: "an object mapping piece to id",
      found: Array.isArray(json) ? "an array" : typeof json,
    });
  }
  const vocab = new Map<string, number>();
  for (const [piece, id] of Object.entries(json)) {
    if (typeof id !== "number") {
      throw new TokenizerError({
        file,
        field: `vocab entry ${JSON.stringify(piece)}`,
        expected: "an integer id",
        found: JSON.stringify(id),
      });
    }
    vocab.set(piece, id);
  }
  return vocab;
};

/** Parse merges.txt: an optional "#version" line, then one "left right" pair per line, rank = order. */
export const parseMergesTxt = (text: string, file: string): MergePair[] => {
  const merges: MergePair[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line === "" || (i === 0 && line.startsWith("#version"))) return;
    const parts = line.split(" ");
    if (parts.length !== 2 || parts[0] === "" || parts[1] === "") {
      throw new TokenizerError({
        file,
        field: `line ${i + 1}`,
        expected: 'a merge "left right" (two pieces separated by one space)',
        found: JSON.stringify(line.length > 80 ? `${line.slice(0, 80)}…` : line),
      });
    }
    merges.push([parts[0]!, parts[1]!]);
  });
  return merges;
};

const readText = (path: string, field: string): string => {
  try {
    return readRegularFile(path).toString("utf8");
  } catch (e) {
    throw new TokenizerError({
      file: path,
      field,
      expected: "a readable file",
      found: e instanceof Error ? e.message : String(e),
    });
  }
};

/**
 * Read a GPT-2 BPE tokenizer from vocab.json and merges.txt. Throws TokenizerError.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, writeFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { Tokenizer } from "@patchbay/core";
 *
 * // the 256 byte-level base pieces (GPT-2's bytes_to_unicode), then two merged tokens
 * const printable = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
 * let shifted = 0;
 * const vocab: Record<string, number> = {};
 * for (let b = 0; b < 256; b++) vocab[String.fromCharCode(printable(b) ? b : 256 + shifted++)] = b;
 * Object.assign(vocab, { hi: 256, "Ġhi": 257 });
 * const dir = mkdtempSync(join(tmpdir(), "gpt2-"));
 * writeFileSync(join(dir, "vocab.json"), JSON.stringify(vocab));
 * writeFileSync(join(dir, "merges.txt"), "#version: 0.2\nh i\nĠ hi\n");
 *
 * const tok = Tokenizer.readGpt2Bpe(join(dir, "vocab.json"), join(dir, "merges.txt"));
 * assert.deepEqual(tok.encode("hi hi!"), [256, 257, 33]);
 * assert.equal(tok.decode([256, 257, 33]), "hi hi!");
 * ```
 */
export const readGpt2Bpe = (vocabPath: string, mergesPath: string): Gpt2Bpe => {
  const vocab = parseVocabJson(readText(vocabPath, "vocab.json"), vocabPath);
  const merges = parseMergesTxt(readText(mergesPath, "merges.txt"), mergesPath);
  return new Gpt2Bpe(vocab, merges, { vocab: vocabPath, merges: mergesPath });
};
