import { Data, type Effect } from "effect";
import type { ActivationRecord } from "./format.ts";
import { explanationPrompt, type Prompt, simulationPrompt } from "./prompts.ts";

/**
 * The pluggable explainer/simulator interface: data in, data out, asynchronous through Effect.
 * Three implementations: a local model run by patchbay (local-lm.ts), an OpenAI-compatible HTTP
 * API (http.ts) and a deterministic rule-based stand-in (rule-based.ts). Each request carries
 * both the raw data and the prompt built from it, so a model can use whichever it needs.
 */

export interface ExplainRequest {
  /** The records shown, with activations normalised by `maxActivation`. */
  readonly records: readonly ActivationRecord[];
  readonly maxActivation: number;
  readonly prompt: Prompt;
}

export interface SimulateRequest {
  readonly explanation: string;
  /** [n_sequences][len_i] the tokens to simulate. */
  readonly sequences: readonly (readonly string[])[];
  /** One "all at once" prompt per sequence. */
  readonly prompts: readonly Prompt[];
}

/** Expected activations on the 0–10 scale, one per token of each sequence. */
export interface Simulation {
  readonly expected: readonly (readonly number[])[];
  /** How they were obtained: next-token probabilities, parsed text, or a rule. */
  readonly method: "probabilities" | "text" | "rule";
}

export interface NeuronExplainer<E = never> {
  readonly name: string;
  readonly explain: (req: ExplainRequest) => Effect.Effect<string, E>;
}

export interface NeuronSimulator<E = never> {
  readonly name: string;
  readonly simulate: (req: SimulateRequest) => Effect.Effect<Simulation, E>;
}

/**
 * What an explainer is given: `{ records, maxActivation, prompt }` (the prompt built from the records).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { explainRequest } from "@patchbay/readouts";
 *
 * const req = explainRequest([{ tokens: ["a", "x"], activations: [0, 8] }], 8);
 * assert.match(req.prompt.text, /x\t10/);
 * ```
 */
export const explainRequest = (
  records: readonly ActivationRecord[],
  maxActivation: number,
): ExplainRequest => ({
  records,
  maxActivation,
  prompt: explanationPrompt(records, maxActivation),
});

/**
 * What a simulator is given: `{ explanation, sequences, prompts }`, one prompt per sequence.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { simulateRequest } from "@patchbay/readouts";
 *
 * const req = simulateRequest("the token \"x\"", [["a", "x"], ["b"]]);
 * assert.equal(req.prompts.length, 2);
 * ```
 */
export const simulateRequest = (
  explanation: string,
  sequences: readonly (readonly string[])[],
): SimulateRequest => ({
  explanation,
  sequences,
  prompts: sequences.map((s) => simulationPrompt(explanation, s)),
});

/** A model's answer that cannot be used: malformed JSON, missing fields, too few activations. */
export class ModelResponseError extends Data.TaggedError("ModelResponseError")<{
  readonly model: string;
  readonly field: string;
  readonly expected: string;
  readonly found: string;
}> {
  override get message(): string {
    return `${this.model}: ${this.field}: expected ${this.expected}, found ${this.found}`;
  }
}
