import type { Tokenizer } from "@patchbay/core/tokenizer";
import { INDUCTION_BOS } from "@patchbay/zoo";
import type { SteeringData } from "./spec.ts";

/**
 * Built-in steering examples.
 *
 * stories260K "happy" − "sad": contrast prompts that end on the word (read at their last position,
 * spec.meanPositions = "last"), and neutral targets ending where a feeling word could follow; the
 * metric is the logit difference of " happy" (one token) over " sa" (the first token of " sad").
 * Measured (blocks.2.resid_pre, α·v added at every target position): logit-diff −6.0 (α = −4),
 * 0.13 (α = 0), +4.8 (α = 4), monotone in α.
 */
export const HAPPY_PROMPTS = [
  "The girl was happy",
  "Tom felt happy",
  "She was very happy",
  "The dog was happy",
  "Lily smiled. She was happy",
] as const;
export const HAPPY_TARGETS = [
  "The boy was very",
  "Lily felt",
  "The cat was",
  "Ben was so",
  "She looked at him and felt",
] as const;

/**
 * The built-in happy/sad contrast for a word-level or BPE tokenizer: SteeringData `{ positive, negative, targets, answers, wrong }` (HAPPY_PROMPTS against their sad versions).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, writeFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { readHfJsonTokenizer } from "@patchbay/core/tokenizer";
 * import { wordLevelTokenizer } from "@patchbay/zoo";
 * import { HAPPY_PROMPTS, happySadData } from "@patchbay/readouts";
 * const file = join(mkdtempSync(join(tmpdir(), "tok-")), "tokenizer.json");
 * const words = new Set(["<bos>", "<unk>", "happy", "sad", ...HAPPY_PROMPTS.join(" ").split(/\s+/)]);
 * writeFileSync(file, JSON.stringify(wordLevelTokenizer([...words])));
 * const d = happySadData(readHfJsonTokenizer(file));
 * assert.equal(d.positive.length, d.negative.length);
 * assert.equal(d.targets.length, d.answers.length);
 * ```
 */
export const happySadData = (tok: Tokenizer): SteeringData => {
  const enc = (s: string) => tok.encode(s);
  const first = (s: string) =>
    tok.encode(s, { bos: false }).find((id) => tok.idToToken(id).trim() !== "" && tok.idToToken(id) !== "▁")!;
  const happy = first("happy");
  const sad = first("sad");
  return {
    positive: HAPPY_PROMPTS.map(enc),
    negative: HAPPY_PROMPTS.map((s) => enc(s.replace("happy", "sad"))),
    targets: HAPPY_TARGETS.map(enc),
    answers: HAPPY_TARGETS.map(() => [happy]),
    wrong: HAPPY_TARGETS.map(() => [sad]),
  };
};

/**
 * The compiled induction model steered toward an output token: prompts [BOS, x, a, …, x] make the
 * induction head copy a into OUT; the difference of means between prompts that predict `a` and
 * prompts that predict `b` (read at the last position of blocks.1.resid_post) is OUT(a) − OUT(b),
 * and adding it raises logit[a] − logit[b] by α·v·(W_U[:, a] − W_U[:, b]).
 *
 * Returns SteeringData `{ positive, negative, targets, answers, wrong }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { inductionSteeringData } from "@patchbay/readouts";
 *
 * const d = inductionSteeringData(5, 6, [10, 11, 12]);
 * assert.deepEqual(d.positive[0], [0, 10, 5, 11, 10]); // [BOS, x, a, …, x]: predicts a
 * assert.deepEqual(d.answers, [[5], [5], [5]]);
 * ```
 */
export const inductionSteeringData = (a: number, b: number, others: readonly number[]): SteeringData => {
  const predicting = (t: number) =>
    others.map((x) => [INDUCTION_BOS, x, t, others[(others.indexOf(x) + 1) % others.length]!, x]);
  return {
    positive: predicting(a),
    negative: predicting(b),
    targets: others.map((x, i) => [INDUCTION_BOS, x, others[(i + 2) % others.length]!, x]),
    answers: others.map(() => [a]),
    wrong: others.map(() => [b]),
  };
};
