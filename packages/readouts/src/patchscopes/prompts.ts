import { InputError } from "@patchbay/core/errors";
import type { Tokenizer } from "@patchbay/core/tokenizer";

/**
 * Built-in inspection prompts as data: the text, and which token receives the patch (the last
 * token of the `occurrence` of `marker` in the text). Tokenised with the model's own tokenizer.
 */
export interface InspectionPrompt {
  readonly name: string;
  readonly text: string;
  readonly marker: string;
  readonly occurrence: "first" | "last";
  readonly description: string;
}

export const inspectionPrompts: readonly InspectionPrompt[] = [
  {
    name: "token-identity",
    text: "cat -> cat\n1135 -> 1135\nhello -> hello\n?",
    marker: "?",
    occurrence: "last",
    description:
      "token identity prompt: the patched `?` is the last token; the next token decodes what h predicts",
  },
  {
    name: "token-identity-arrow",
    text: "cat -> cat\n1135 -> 1135\nhello -> hello\n? ->",
    marker: "?",
    occurrence: "last",
    description:
      "token identity with the arrow written: the patched `?` is copied after `->` if h still names its token",
  },
  {
    name: "attribute-color",
    text: "The color of the x was",
    marker: "x",
    occurrence: "last",
    description: "attribute extraction (TinyStories domain): the colour of the patched entity",
  },
  {
    name: "attribute-name",
    text: "Once upon a time, there was a x named",
    marker: "x",
    occurrence: "last",
    description: "attribute extraction: a name for the patched entity (girl, boy, dog, …)",
  },
  {
    name: "attribute-sound",
    text: "The x said",
    marker: "x",
    occurrence: "last",
    description: "attribute extraction: the sound of the patched animal",
  },
];

/**
 * A built-in inspection prompt by name: `{ name, text, marker, occurrence, description }`; an unknown name is an InputError listing them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { inspectionPrompt } from "@patchbay/readouts";
 *
 * const p = inspectionPrompt("attribute-color");
 * assert.equal(p.text, "The color of the x was");
 * assert.equal(p.marker, "x");
 * assert.throws(() => inspectionPrompt("nope"), /token-identity/);
 * ```
 */
export const inspectionPrompt = (name: string): InspectionPrompt => {
  const p = inspectionPrompts.find((x) => x.name === name);
  if (p === undefined)
    throw new InputError({
      field: "prompt",
      expected: `a built-in inspection prompt (${inspectionPrompts.map((x) => x.name).join(", ")})`,
      found: JSON.stringify(name),
    });
  return p;
};

/**
 * Token ids of a prompt and the index of the token to patch: the last token of encode(text up to
 * the end of the marker), provided the whole text tokenises with that prefix (otherwise the marker
 * is not a token boundary, an InputError).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, writeFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { readHfJsonTokenizer } from "@patchbay/core/tokenizer";
 * import { wordLevelTokenizer } from "@patchbay/zoo";
 * import { inspectionPrompt, tokenizePrompt } from "@patchbay/readouts";
 * const file = join(mkdtempSync(join(tmpdir(), "tok-")), "tokenizer.json");
 * const words = ["<bos>", "<unk>", "The", "color", "of", "the", "x", "was", "red", "ball"];
 * writeFileSync(file, JSON.stringify(wordLevelTokenizer(words)));
 * const tok = readHfJsonTokenizer(file); // a word-level tokenizer: one id per word
 *
 * const { ids, position } = tokenizePrompt(tok, inspectionPrompt("attribute-color"));
 * assert.equal(ids.length, 6);
 * assert.equal(ids[position], words.indexOf("x")); // the marker receives the patch
 * ```
 */
export const tokenizePrompt = (tok: Tokenizer, p: InspectionPrompt): { ids: number[]; position: number } => {
  const at = p.occurrence === "last" ? p.text.lastIndexOf(p.marker) : p.text.indexOf(p.marker);
  if (at < 0)
    throw new InputError({ field: `${p.name}.marker`, expected: "a substring of the text", found: p.marker });
  const prefix = tok.encode(p.text.slice(0, at + p.marker.length));
  const ids = tok.encode(p.text);
  if (!prefix.every((id, i) => ids[i] === id))
    throw new InputError({
      field: `${p.name}.marker`,
      expected: "a marker that ends on a token boundary in this tokenizer",
      found: `${JSON.stringify(p.marker)} is merged with the following text`,
    });
  return { ids, position: prefix.length - 1 };
};

/**
 * The id of the first token of `continuation` after `text` (e.g. " red" after "… the ball was"):
 * token |encode(text)| of encode(text + continuation), when encode(text) is a prefix of it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, writeFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { readHfJsonTokenizer } from "@patchbay/core/tokenizer";
 * import { wordLevelTokenizer } from "@patchbay/zoo";
 * import { continuationToken } from "@patchbay/readouts";
 * const file = join(mkdtempSync(join(tmpdir(), "tok-")), "tokenizer.json");
 * const words = ["<bos>", "<unk>", "The", "color", "of", "the", "x", "was", "red", "ball"];
 * writeFileSync(file, JSON.stringify(wordLevelTokenizer(words)));
 * const tok = readHfJsonTokenizer(file); // a word-level tokenizer: one id per word
 *
 * assert.equal(continuationToken(tok, "The color of the ball was", " red"), words.indexOf("red"));
 * ```
 */
export const continuationToken = (tok: Tokenizer, text: string, continuation: string): number => {
  const a = tok.encode(text);
  const b = tok.encode(text + continuation);
  if (b.length <= a.length || !a.every((id, i) => b[i] === id))
    throw new InputError({
      field: "expected",
      expected: `a continuation that starts a new token after ${JSON.stringify(text)}`,
      found: JSON.stringify(continuation),
    });
  return b[a.length]!;
};
