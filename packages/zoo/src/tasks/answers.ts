import { Either } from "effect";
import { textBefore, type Tokenizer, visiblePiece } from "@patchbay/core/tokenizer";

/**
 * Text answers. The answer at a metric position is the token the model would produce right after
 * the prompt's tokens up to and including that position, so a text answer is tokenized *in
 * context*, as the continuation of the prompt's text:
 *
 *   context = the clean prompt's text through the metric position
 *   encode(context + answer) must be encode(context) followed by exactly one id, and that id is
 *   the answer; the prompt's own tokens must not change when the answer is appended.
 *
 * Alone, a text may tokenize differently (SentencePiece writes "▁" before the first word of a
 * text, not inside one; GPT-2 keeps a leading space inside the token): when the answer alone is
 * one token and a different one than in context, which one was meant is unclear, and that is an
 * error too. Every refusal shows the candidate ids both ways, so the user can write `*_ids`.
 */

/** The clean prompt a text answer continues: its ids and, when it was given as text, the text. */
export interface PromptContext {
  readonly ids: readonly number[];
  readonly text: string | null;
  /** The BOS option the prompt's text was encoded with (undefined: the tokenizer's default). */
  readonly bos: boolean | undefined;
}

export interface AnswerProblem {
  readonly expected: string;
  readonly found: string;
}

const same = (a: readonly number[], b: readonly number[]): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/** `[438 "L", 307 "▁L"]`: ids with their pieces, as the vocabulary spells them. */
export const showTokens = (tok: Tokenizer, ids: readonly number[]): string =>
  `[${ids.map((id) => `${id} ${JSON.stringify(visiblePiece(tok, id))}`).join(", ")}]`;

/**
 * The text of the prompt through token `end - 1`, and the encode option that gives back exactly
 * those tokens; null when no text does (the ids were not produced by this tokenizer from text, or
 * the tokenizer normalizes).
 */
const contextOf = (
  tok: Tokenizer,
  prompt: PromptContext,
  end: number,
): { text: string; opts: { bos?: boolean } } | null => {
  const ids = prompt.ids.slice(0, end);
  if (prompt.text !== null) {
    const opts = prompt.bos === undefined ? {} : { bos: prompt.bos };
    const text = textBefore(tok, prompt.text, prompt.ids, end);
    if (text === null) return null;
    return end === prompt.ids.length || same(tok.encode(text, opts), ids) ? { text, opts } : null;
  }
  // ids: their decoded text, with or without the SentencePiece dummy-prefix space decode leaves
  if (ids.some((id) => id >= tok.vocabSize)) return null; // past the tokenizer (a padded model vocabulary)
  const opts = { bos: tok.bos !== null && ids[0] === tok.bos };
  const decoded = tok.decode(ids);
  for (const text of decoded.startsWith(" ") ? [decoded, decoded.slice(1)] : [decoded])
    if (same(tok.encode(text, opts), ids)) return { text, opts };
  return null;
};

/**
 * The id of a text answer at metric position `position` (absolute, in [0, ids.length)) of the
 * clean prompt, or what is wrong with it. `idsField` is the field to suggest instead
 * (`answer_ids`, `wrong_ids`).
 */
export const answerToken = (
  tok: Tokenizer,
  prompt: PromptContext,
  position: number,
  answer: string,
  idsField: string,
): Either.Either<number, AnswerProblem> => {
  const alone = tok.encode(answer, { bos: false });
  const aloneShown = `alone ${showTokens(tok, alone)}`;
  const expected = `text that continues the prompt as exactly one token, the same one it is alone (write it as it follows the prompt, usually with its leading space), or ${idsField}`;
  const ctx = contextOf(tok, prompt, position + 1);
  if (ctx === null)
    return Either.left({
      expected: `${idsField} here: a text answer is placed after the prompt's text, and the clean prompt's tokens through position ${position} do not re-encode from any text`,
      found: `${JSON.stringify(answer)} (${aloneShown})`,
    });
  const before = prompt.ids.slice(0, position + 1);
  const after = tok.encode(ctx.text + answer, ctx.opts);
  const head = after.slice(0, before.length);
  if (!same(head, before)) {
    const d = head.findIndex((id, i) => id !== before[i]);
    const from = d < 0 ? head.length : d;
    return Either.left({
      expected,
      found: `${JSON.stringify(answer)} changes the prompt's own tokens when appended: from position ${from}, ${showTokens(tok, before.slice(from))} become ${showTokens(tok, after.slice(from))} (${aloneShown})`,
    });
  }
  const added = after.slice(before.length);
  if (added.length !== 1)
    return Either.left({
      expected,
      found: `${JSON.stringify(answer)} is ${added.length} tokens after the prompt ${showTokens(tok, added)} (${aloneShown})`,
    });
  const id = added[0]!;
  if (alone.length === 1 && alone[0] !== id)
    return Either.left({
      expected,
      found: `${JSON.stringify(answer)} is ${showTokens(tok, [id])} after the prompt but ${showTokens(tok, alone)} alone`,
    });
  return Either.right(id);
};
