import type { Tokenizer } from "./tokenizer.ts";

/**
 * Where tokens lie in the text they were encoded from, found by decoding growing prefixes of the
 * ids (so it works for every tokenizer family, none of which keeps offsets). The decoded ids may
 * carry text the input did not have in front (the SentencePiece dummy-prefix space without BOS):
 * that lead is discounted. Offsets are UTF-16 indices into `text`.
 */

/** decode(ids) and how many leading characters of it are not in `text`; null when they do not spell `text`. */
const spelled = (
  tok: Tokenizer,
  text: string,
  ids: readonly number[],
): { decoded: string; lead: number } | null => {
  const decoded = tok.decode(ids);
  const lead = decoded.length - text.length;
  return lead >= 0 && decoded.endsWith(text) ? { decoded, lead } : null;
};

/** The end in `text` of what ids[0..k) spell, or null when that prefix does not decode to a prefix of it. */
const endOf = (
  tok: Tokenizer,
  ids: readonly number[],
  k: number,
  s: { decoded: string; lead: number },
): number | null => {
  const pre = tok.decode(ids.slice(0, k));
  return s.decoded.startsWith(pre) ? Math.max(0, pre.length - s.lead) : null;
};

/**
 * The part of `text` that `ids.slice(0, k)` spell, where `ids` encode `text`; null when it cannot
 * be told (a normalizing tokenizer, a cut inside a character split over byte tokens).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, writeFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { Tokenizer } from "@patchbay/core";
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
 * const tok = Tokenizer.readHfJsonTokenizer(join(dir, "tokenizer.json"));
 * const text = "hi hi";
 * assert.equal(Tokenizer.textBefore(tok, text, tok.encode(text), 1), "hi");
 * ```
 */
export const textBefore = (
  tok: Tokenizer,
  text: string,
  ids: readonly number[],
  k: number,
): string | null => {
  if (k >= ids.length) return text;
  const s = spelled(tok, text, ids);
  if (s === null) return null;
  const end = endOf(tok, ids, k, s);
  return end === null ? null : text.slice(0, end);
};

/**
 * Each token's [start, end) in `text`, where `ids` encode `text`: null for a token whose end
 * cannot be placed (the next placed token's span then starts after the last placed end); the
 * whole result is null when the ids do not decode to `text`. BOS and other control tokens get
 * empty spans.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, writeFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { Tokenizer } from "@patchbay/core";
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
 * const tok = Tokenizer.readHfJsonTokenizer(join(dir, "tokenizer.json"));
 * const text = "hi hi";
 * assert.deepEqual(Tokenizer.tokenSpans(tok, text, tok.encode(text)), [[0, 2], [2, 5]]);
 * ```
 */
export const tokenSpans = (
  tok: Tokenizer,
  text: string,
  ids: readonly number[],
): (readonly [number, number] | null)[] | null => {
  const s = spelled(tok, text, ids);
  if (s === null) return null;
  let start = 0;
  return ids.map((_, i) => {
    const end = endOf(tok, ids, i + 1, s);
    if (end === null) return null;
    const span = [start, end] as const;
    start = end;
    return span;
  });
};

/**
 * A token as the vocabulary spells it, with its spaces visible: llama2.c files store the
 * SentencePiece "▁" as a space, shown here as "▁" like every other SentencePiece vocabulary;
 * GPT-2's "Ġ" and byte tokens ("<0x0A>", "Ċ") are shown as they are.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, writeFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { Tokenizer } from "@patchbay/core";
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
 * const tok = Tokenizer.readHfJsonTokenizer(join(dir, "tokenizer.json"));
 * assert.equal(Tokenizer.visiblePiece(tok, 4), "Ġhi"); // GPT-2's space marker, as the vocabulary spells it
 * ```
 */
export const visiblePiece = (tok: Tokenizer, id: number): string => {
  const piece = tok.idToToken(id);
  return tok.kind === "llama2c" ? piece.replaceAll(" ", "▁") : piece;
};
