import type { Tokenizer } from "@patchbay/core/tokenizer";
import { continuationToken } from "./prompts.ts";
import type { SourceExample } from "./sweep.ts";

/**
 * Source prompts for stories260K (TinyStories domain), written for this package.
 * - attribute: the next token is an attribute stated earlier or implied by the story
 *   ("Lily had a red ball. The color of the ball was" → " red"); the source position is the last
 *   token, whose residual carries the prediction;
 * - entity: the text ends on an entity (a name, an animal, a thing); the source position is that
 *   last token and the expected token is the token itself (token identity / entity resolution).
 */
export const storyAttributes: readonly { readonly text: string; readonly answer: string }[] = [
  { text: "Lily had a red ball. The color of the ball was", answer: " red" },
  { text: "Tom had a blue car. The color of the car was", answer: " blue" },
  { text: "Once upon a", answer: " time" },
  { text: "Once upon a time, there was a little girl named", answer: " Lily" },
  { text: "Once upon a time, there was a little", answer: " girl" },
  { text: "The cat said meow. The dog said", answer: " woof" },
  { text: "Lily and Tom went to the park. Lily and", answer: " Tom" },
  { text: "Ben saw a big dog. The dog was very", answer: " big" },
  { text: "The sun was hot. Sue went to the", answer: " park" },
  { text: "Tim was very happy. He said thank", answer: " you" },
  { text: "Mom gave Lily a hug. Lily said thank you to her", answer: " mom" },
  { text: "One day, a little boy named Tom went to the park. Tom", answer: " saw" },
];

export const storyEntities: readonly string[] = [
  "Once upon a time, there was a little girl named Lily",
  "One day, Tom",
  "Ben had a dog",
  "The little bird",
  "She saw a cat",
  "They played with a ball",
  "Sam went to the park",
  "There was a big tree",
  "The sun",
  "Mom made a cake",
  "He found a box",
  "The frog",
];

/**
 * The attribute examples, tokenised: position −1 of each text, expected the answer's first token.
 *
 * Returns `{ ids, position, expected, label }` per example.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, writeFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { readHfJsonTokenizer } from "@patchbay/core/tokenizer";
 * import { wordLevelTokenizer } from "@patchbay/zoo";
 * import { attributeExamples } from "@patchbay/readouts";
 * const file = join(mkdtempSync(join(tmpdir(), "tok-")), "tokenizer.json");
 * const words = ["<bos>", "<unk>", "The", "color", "of", "the", "x", "was", "red", "ball"];
 * writeFileSync(file, JSON.stringify(wordLevelTokenizer(words)));
 * const tok = readHfJsonTokenizer(file); // a word-level tokenizer: one id per word
 *
 * const xs = attributeExamples(tok);
 * assert.ok(xs.length > 0);
 * assert.equal(xs[0]!.position, xs[0]!.ids.length - 1);
 * ```
 */
export const attributeExamples = (tok: Tokenizer): SourceExample[] =>
  storyAttributes.map((a) => {
    const ids = tok.encode(a.text);
    return {
      ids,
      position: ids.length - 1,
      expected: continuationToken(tok, a.text, a.answer),
      label: a.text,
    };
  });

/**
 * The entity examples, tokenised: the last token, expected to be decoded as itself.
 *
 * Returns `{ ids, position, expected, label }` per example.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, writeFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { readHfJsonTokenizer } from "@patchbay/core/tokenizer";
 * import { wordLevelTokenizer } from "@patchbay/zoo";
 * import { entityExamples } from "@patchbay/readouts";
 * const file = join(mkdtempSync(join(tmpdir(), "tok-")), "tokenizer.json");
 * const words = ["<bos>", "<unk>", "The", "color", "of", "the", "x", "was", "red", "ball"];
 * writeFileSync(file, JSON.stringify(wordLevelTokenizer(words)));
 * const tok = readHfJsonTokenizer(file); // a word-level tokenizer: one id per word
 *
 * const xs = entityExamples(tok);
 * assert.ok(xs.length > 0);
 * assert.equal(xs[0]!.position, xs[0]!.ids.length - 1);
 * ```
 */
export const entityExamples = (tok: Tokenizer): SourceExample[] =>
  storyEntities.map((text) => {
    const ids = tok.encode(text);
    return { ids, position: ids.length - 1, expected: ids.at(-1)!, label: text };
  });
