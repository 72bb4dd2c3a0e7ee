import type { ActivationRecord } from "./format.ts";

/**
 * The prompts of explain → simulate, as data (after neuron-explainer's explainer.py,
 * simulator.py and activation_records.py; few-shot examples left out).
 *
 * Format (both prompts): a record is shown between "<start>" and "<end>" lines, one token per
 * line as `token<TAB>value`:
 *   - explanation: value = the activation normalised to an integer 0–10 (normalizeActivations),
 *     and when fewer than 20% of the values are non-zero the same records again with the zeros
 *     left out; the prompt ends "Explanation of neuron 1 behavior: the main thing this neuron
 *     does is find" and the model completes the sentence.
 *   - simulation ("all at once"): the explanation, then the record with value = "unknown" on every
 *     line. A model with next-token probabilities reads, at each line's TAB, its distribution over
 *     the tokens "0" … "10" (the paper's echo/logprobs trick: one pass scores every token); a chat
 *     model instead answers the lines with numbers filled in.
 * A prompt is `messages` (system/user, for chat APIs) plus `parts`, the same text split so that a
 * local model can find where each token's prediction is read: concatenating parts[].text gives
 * `text`, and a part with `slot: i` ends right after the TAB of token i's line.
 */

export const EXPLANATION_PREFIX = "the main thing this neuron does is find";
export const MAX_NORMALIZED_ACTIVATION = 10;
export const UNKNOWN_ACTIVATION = "unknown";

export interface ChatMessage {
  readonly role: "system" | "user" | "assistant";
  readonly content: string;
}

export interface PromptPart {
  readonly text: string;
  /** Set on the part ending at the TAB of token `slot`'s line (simulation prompts). */
  readonly slot?: number;
}

export interface Prompt {
  readonly messages: readonly ChatMessage[];
  readonly parts: readonly PromptPart[];
  readonly text: string;
}

/**
 * neuron-explainer's normalize_activations: v = min(10, ⌊10·max(0, a)/a_max⌋), all 0 when
 * a_max ≤ 0 (negative values are the resting state of a ReLU/GELU neuron).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { normalizeActivations } from "@patchbay/readouts";
 *
 * assert.deepEqual(normalizeActivations([-1, 2, 4], 4), [0, 5, 10]);
 * ```
 */
export const normalizeActivations = (activations: readonly number[], max: number): number[] =>
  max <= 0
    ? activations.map(() => 0)
    : activations.map((a) =>
        Math.min(MAX_NORMALIZED_ACTIVATION, Math.floor((MAX_NORMALIZED_ACTIVATION * Math.max(0, a)) / max)),
      );

/** The share of tokens whose normalised value is non-zero. */
export const nonZeroShare = (records: readonly ActivationRecord[], max: number): number => {
  let nz = 0;
  let all = 0;
  for (const r of records)
    for (const v of normalizeActivations(r.activations, max)) {
      all++;
      if (v !== 0) nz++;
    }
  return all === 0 ? 0 : nz / all;
};

/**
 * `token\tvalue` lines between <start>/<end> (format_activation_records).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatRecords } from "@patchbay/readouts";
 *
 * const text = formatRecords([{ tokens: ["a", "x"], activations: [0, 8] }], 8);
 * assert.equal(text, "\n<start>\na\t0\nx\t10\n<end>\n");
 * ```
 */
export const formatRecords = (
  records: readonly ActivationRecord[],
  max: number,
  opts: { readonly omitZeros?: boolean } = {},
): string =>
  `\n<start>\n${records
    .map((r) => {
      const v = normalizeActivations(r.activations, max);
      return r.tokens
        .map((t, i) => ({ t, v: v[i]! }))
        .filter((x) => !(opts.omitZeros === true && x.v === 0))
        .map((x) => `${x.t}\t${x.v}`)
        .join("\n");
    })
    .join("\n<end>\n<start>\n")}\n<end>\n`;

const EXPLAIN_SYSTEM =
  "We're studying neurons in a neural network. Each neuron looks for some particular thing in a short " +
  "document. Look at the parts of the document the neuron activates for and summarize in a single sentence " +
  "what the neuron is looking for. Don't list examples of words.\n\nThe activation format is " +
  "token<tab>activation. Activation values range from 0 to 10. A neuron finding what it's looking for is " +
  "represented by a non-zero activation value. The higher the activation value, the stronger the match.";

const SIMULATE_SYSTEM =
  "We're studying neurons in a neural network.\nEach neuron looks for some particular thing in a short " +
  "document.\nLook at summary of what the neuron does, and try to predict how it will fire on each token.\n\n" +
  'The activation format is token<tab>activation, activations go from 0 to 10, "unknown" indicates an ' +
  "unknown activation. Most activations will be 0.\n";

const joinParts = (parts: readonly PromptPart[]): string => parts.map((p) => p.text).join("");

/**
 * The explanation prompt for records whose activations are normalised by `max` (the neuron's
 * max_activation over its top records).
 *
 * Returns a Prompt `{ messages, parts, text }` (chat messages for an API, parts for a local model).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { explanationPrompt } from "@patchbay/readouts";
 *
 * const p = explanationPrompt([{ tokens: ["a", "x"], activations: [0, 8] }], 8);
 * assert.ok(p.messages.length > 0);
 * assert.match(p.text, /x\t10/);
 * ```
 */
export const explanationPrompt = (records: readonly ActivationRecord[], max: number): Prompt => {
  let user = `\n\nNeuron 1\nActivations:${formatRecords(records, max)}`;
  if (nonZeroShare(records, max) < 0.2)
    user += `\nSame activations, but with all zeros filtered out:${formatRecords(records, max, { omitZeros: true })}`;
  user += `\nExplanation of neuron 1 behavior: ${EXPLANATION_PREFIX}`;
  const parts = [{ text: `${EXPLAIN_SYSTEM}${user}` }];
  return {
    messages: [
      { role: "system", content: EXPLAIN_SYSTEM },
      { role: "user", content: user },
    ],
    parts,
    text: joinParts(parts),
  };
};

/**
 * The "all at once" simulation prompt for one sequence. The chat form asks for the lines back with
 * the unknowns filled in (parsed by parseSimulationText); `parts` carry the slots for local models.
 *
 * Returns a Prompt `{ messages, parts, text }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { simulationPrompt } from "@patchbay/readouts";
 *
 * const p = simulationPrompt("the token \"x\"", ["a", "x"]);
 * assert.ok(p.parts.some((part) => part.slot !== undefined)); // one slot per token for local models
 * ```
 */
export const simulationPrompt = (explanation: string, tokens: readonly string[]): Prompt => {
  const head = `\n\nNeuron 1\nExplanation of neuron 1 behavior: ${EXPLANATION_PREFIX} ${explanation.trim()}\nActivations: \n<start>\n`;
  const parts: PromptPart[] = [{ text: SIMULATE_SYSTEM + head }];
  tokens.forEach((t, i) => {
    parts.push({ text: `${t}\t`, slot: i });
    parts.push({ text: `${UNKNOWN_ACTIVATION}\n` });
  });
  parts.push({ text: "<end>\n" });
  const lines = tokens.map((t) => `${t}\t${UNKNOWN_ACTIVATION}`).join("\n");
  const user =
    `${head.trimEnd()}\n${lines}\n<end>\n\n` +
    `Reply with exactly the ${tokens.length} lines between <start> and <end>, in order, each as ` +
    "token<tab>activation with the activation an integer from 0 to 10, and nothing else.";
  return {
    messages: [
      { role: "system", content: SIMULATE_SYSTEM },
      { role: "user", content: user },
    ],
    parts,
    text: joinParts(parts),
  };
};

/**
 * Read n activations from a chat answer: the last `n` lines of the form `…<TAB>number` (lines
 * that are only <start>/<end> or blank are skipped), each number clamped to [0, 10]. Null when
 * fewer than n such lines exist (the caller reports a typed error).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseSimulationText } from "@patchbay/readouts";
 *
 * assert.deepEqual(parseSimulationText("<start>\na\t0\nx\t12\n<end>", 2), [0, 10]); // clamped to 10
 * assert.equal(parseSimulationText("a\t0", 2), null);
 * ```
 */
export const parseSimulationText = (text: string, n: number): number[] | null => {
  const values: number[] = [];
  for (const line of text.split("\n")) {
    const tab = line.lastIndexOf("\t");
    if (tab < 0) continue;
    const v = Number(line.slice(tab + 1).trim());
    if (line.slice(tab + 1).trim() === "" || !Number.isFinite(v)) continue;
    values.push(Math.min(MAX_NORMALIZED_ACTIVATION, Math.max(0, v)));
  }
  return values.length >= n ? values.slice(values.length - n) : null;
};

/**
 * The explanation from a completion: the first line, without a leading prefix or final period.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cleanExplanation } from "@patchbay/readouts";
 *
 * assert.equal(cleanExplanation(" the token \"x\".\nmore text"), "the token \"x\"");
 * ```
 */
export const cleanExplanation = (completion: string): string => {
  let s = completion.trim();
  if (s.startsWith(EXPLANATION_PREFIX)) s = s.slice(EXPLANATION_PREFIX.length).trim();
  s = s.split("\n")[0]!.trim();
  if (s.endsWith(".")) s = s.slice(0, -1);
  return s;
};
