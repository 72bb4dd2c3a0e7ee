import { existsSync } from "node:fs";
import { Effect } from "effect";
import { InputError, ModelNotFoundError } from "../../errors/index.ts";
import {
  findTokenizer,
  loadTokenizer,
  type Tokenizer,
  tokenSpans,
  visiblePiece,
} from "../../tokenizer/index.ts";
import { isSourcePath, loadModel } from "../../weights/index.ts";
import { choice, type Flags, required } from "../args.ts";
import { BOS_CHOICES } from "../choices.ts";

const KINDS =
  "tokenizer.json, vocab.json + merges.txt, a llama2.c tok*.bin beside a .bin model, or a .gguf with an embedded vocabulary";

/** Offsets are found by decoding every prefix (quadratic): past this many tokens they are left out. */
const MAX_SPAN_TOKENS = 10_000;

/** The tokenizer the model's commands use: --tokenizer, else the one beside or inside the model. */
const modelTokenizer = (f: Flags) =>
  Effect.gen(function* () {
    const model = required(f, "model");
    if (!isSourcePath(model) && !existsSync(model))
      return yield* new ModelNotFoundError({
        path: model,
        expected: `a model file or folder (its tokenizer: ${KINDS})`,
      });
    if (typeof f.tokenizer === "string") return yield* loadTokenizer(f.tokenizer);
    // a sourced model's tokenizer files (a builtin's) sit in its folder, built on first use (as openModel does)
    const where = isSourcePath(model) ? ((yield* loadModel(model)).folder ?? model) : model;
    const tok = yield* findTokenizer(where);
    if (tok === null)
      return yield* new InputError({
        field: "--model",
        expected: `a model with a tokenizer beside or inside it (${KINDS}), or --tokenizer PATH`,
        found: `no tokenizer for ${model}`,
      });
    return tok;
  });

const bosFlag = (f: Flags): boolean | undefined =>
  f.bos === undefined ? undefined : choice(f, "bos", BOS_CHOICES, "true") === "true";

interface Row {
  readonly position: number;
  readonly id: number;
  /** As the vocabulary spells it, spaces visible ("▁the", "Ġthe", "<0x0A>"). */
  readonly piece: string;
  /** [start, end) in the input text, in Unicode code points; null when it cannot be placed. */
  readonly start: number | null;
  readonly end: number | null;
  /** The input text the token covers; null when it cannot be placed. */
  readonly text: string | null;
}

/** UTF-16 index → code-point index, for offsets other tools (Python) can use. */
const codePointIndex = (text: string): Int32Array => {
  const at = new Int32Array(text.length + 1);
  let cp = 0;
  for (let i = 0; i < text.length; i++) {
    at[i] = cp;
    const c = text.charCodeAt(i);
    if (!(c >= 0xd800 && c <= 0xdbff && i + 1 < text.length)) cp++;
  }
  at[text.length] = cp;
  return at;
};

export const tokenRows = (tok: Tokenizer, text: string, ids: readonly number[]): Row[] => {
  const spans = ids.length <= MAX_SPAN_TOKENS ? tokenSpans(tok, text, ids) : null;
  const cp = codePointIndex(text);
  return ids.map((id, position) => {
    const s = spans?.[position] ?? null;
    return {
      position,
      id,
      piece: visiblePiece(tok, id),
      start: s === null ? null : cp[s[0]]!,
      end: s === null ? null : cp[s[1]]!,
      text: s === null ? null : text.slice(s[0], s[1]),
    };
  });
};

/**
 * `patchbay tokenize --model M --text T [--bos true|false] [--json]`: each token's id, its piece
 * with spaces visible, and where it lies in the text (code-point offsets).
 */
export const tokenizeCommand = (f: Flags) =>
  Effect.gen(function* () {
    const text = required(f, "text");
    const bos = bosFlag(f);
    const tok = yield* modelTokenizer(f);
    const ids = tok.encode(text, bos === undefined ? undefined : { bos });
    const rows = tokenRows(tok, text, ids);
    const withBos = ids.length > tok.encode(text, { bos: false }).length;
    if (f.json === true) {
      const tokenizer = { kind: tok.kind, vocabSize: tok.vocabSize, bos: tok.bos, eos: tok.eos };
      console.log(JSON.stringify({ tokenizer, text, bos: withBos, ids, tokens: rows }));
      return;
    }
    const q = (s: string | null) => (s === null ? "-" : JSON.stringify(s));
    const cells = rows.map((r) => [
      String(r.position),
      String(r.id),
      q(r.piece),
      r.start === null ? "-" : `${r.start}-${r.end}`,
      q(r.text),
    ]);
    const head = ["pos", "id", "piece", "chars", "text"];
    const w = head.map((h, c) => Math.max(h.length, ...cells.map((r) => r[c]!.length)));
    const fmt = (r: readonly string[]) =>
      r
        .map((x, c) => (c < 2 ? x.padStart(w[c]!) : x.padEnd(w[c]!)))
        .join("  ")
        .trimEnd();
    console.log(fmt(head));
    for (const r of cells) console.log(fmt(r));
    console.log(
      `\n${ids.length} tokens (${tok.kind}, vocabulary ${tok.vocabSize}${withBos ? ", BOS prepended" : ""})`,
    );
    if (ids.length > MAX_SPAN_TOKENS) console.log(`offsets left out past ${MAX_SPAN_TOKENS} tokens`);
  });
