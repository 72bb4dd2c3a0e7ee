import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Test helpers for the tokenizer tests (not part of the public API): a llama2.c tokenizer.bin writer
 * and a literal port of run.c's encode, the reference the SentencePiece-style tokenizer must match.
 */

const utf8 = new TextEncoder();

/** Write a llama2.c tokenizer.bin: int32 max_token_length, then per token float32 score, int32 length, bytes. */
export const writeLlama2cTokenizer = (pieces: readonly string[], scores: readonly number[]): Uint8Array => {
  const encoded = pieces.map((p) => utf8.encode(p));
  const maxLen = Math.max(1, ...encoded.map((b) => b.length));
  const size = 4 + encoded.reduce((n, b) => n + 8 + b.length, 0);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setInt32(0, maxLen, true);
  let off = 4;
  encoded.forEach((b, i) => {
    view.setFloat32(off, scores[i]!, true);
    view.setInt32(off + 4, b.length, true);
    out.set(b, off + 8);
    off += 8 + b.length;
  });
  return out;
};

/** The llama2.c base vocabulary: <unk>, BOS, EOS, then the 256 byte tokens (ids 0..258), all score 0. */
export const llama2cBasePieces = (): string[] => [
  "<unk>",
  "\n<s>\n",
  "\n</s>\n",
  ...Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`),
];

/**
 * run.c `encode`, line by line (bos = 1, eos off): dummy prefix " " looked up as a token when the
 * text is non-empty, UTF-8 characters looked up or byte-fallen-back (byte + 3), then the O(n²) loop
 * merging the first pair with the strictly highest score, with BOS taking part in the scan as in run.c.
 */
export const runcEncode = (
  pieces: readonly string[],
  scores: ArrayLike<number>,
  text: string,
  bos: boolean,
): number[] => {
  const index = new Map<string, number>();
  pieces.forEach((p, i) => {
    if (!index.has(p)) index.set(p, i);
  });
  const strLookup = (s: string): number => index.get(s) ?? -1;
  const tokens: number[] = [];
  if (bos) tokens.push(1);
  if (text !== "") tokens.push(strLookup(" "));
  for (const ch of text) {
    const id = strLookup(ch);
    if (id !== -1) tokens.push(id);
    else for (const b of utf8.encode(ch)) tokens.push(b + 3);
  }
  for (;;) {
    let bestScore = -1e10;
    let bestId = -1;
    let bestIdx = -1;
    for (let i = 0; i < tokens.length - 1; i++) {
      const id = strLookup(pieces[tokens[i]!]! + pieces[tokens[i + 1]!]!);
      if (id !== -1 && scores[id]! > bestScore) {
        bestScore = scores[id]!;
        bestId = id;
        bestIdx = i;
      }
    }
    if (bestIdx === -1) break;
    tokens.splice(bestIdx, 2, bestId);
  }
  return tokens;
};

/**
 * Write a merges.txt (GPT-2 format: "#version: 0.2", then "left right" per line) from a tokenizer.json's
 * `model.merges`, which newer files store as [left, right] pairs and older ones as "left right" strings.
 */
export const writeMergesFromTokenizerJson = (tokenizerJsonPath: string, dir: string): string => {
  const json = JSON.parse(readFileSync(tokenizerJsonPath, "utf8")) as { model: { merges: unknown[] } };
  const lines = json.model.merges.map((m) => {
    if (typeof m === "string") return m;
    if (Array.isArray(m) && m.length === 2) return `${m[0]} ${m[1]}`;
    throw new Error(`unexpected merge entry ${JSON.stringify(m)}`);
  });
  const path = join(dir, "merges.txt");
  writeFileSync(path, `#version: 0.2\n${lines.join("\n")}\n`);
  return path;
};
