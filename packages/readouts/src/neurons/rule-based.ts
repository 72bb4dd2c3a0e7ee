import { Effect } from "effect";
import { EXPLANATION_PREFIX, normalizeActivations } from "./prompts.ts";
import type { NeuronExplainer, NeuronSimulator } from "./model.ts";

/**
 * A deterministic stand-in for the explainer and simulator, so the whole pipeline runs (and is
 * tested) without any language model.
 *
 * Explainer: the tokens the neuron fires on most. For each distinct token of the shown records,
 * its largest normalised value v (0–10); the explanation lists, as JSON strings, the tokens with
 * v ≥ `threshold` (default 5), by v descending then first appearance, at most `maxTokens`
 * (default 5): `the tokens "x", "y"`. No token reaches the threshold → `nothing`.
 *
 * Simulator: parses the JSON-quoted tokens of an explanation and predicts 10 for a token in that
 * set (exact string match), 0 otherwise. On a neuron that fires only on one token, its
 * explanation therefore reproduces the real activations up to an affine map: r = 1.
 */
export interface RuleBasedOptions {
  readonly threshold?: number;
  readonly maxTokens?: number;
}

/**
 * An explainer without a language model: it lists the tokens on which the neuron fires above a threshold, quoted (`the tokens \"x\"`). A NeuronExplainer `{ name, explain }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Effect } from "effect";
 * import { explainRequest, ruleBasedExplainer } from "@patchbay/readouts";
 * const req = explainRequest([{ tokens: ["a", "x", "b"], activations: [0, 8, 0] }], 8);
 * const explanation = await Effect.runPromise(ruleBasedExplainer().explain(req));
 * assert.match(explanation, /"x"/);
 * ```
 */
export const ruleBasedExplainer = (opts: RuleBasedOptions = {}): NeuronExplainer => ({
  name: "rule-based",
  explain: (req) =>
    Effect.sync(() => {
      const threshold = opts.threshold ?? 5;
      const best = new Map<string, { v: number; first: number }>();
      let k = 0;
      for (const r of req.records) {
        const v = normalizeActivations(r.activations, req.maxActivation);
        r.tokens.forEach((t, i) => {
          const old = best.get(t);
          if (old === undefined) best.set(t, { v: v[i]!, first: k });
          else if (v[i]! > old.v) old.v = v[i]!;
          k++;
        });
      }
      const chosen = [...best.entries()]
        .filter(([, x]) => x.v >= threshold)
        .sort((a, b) => b[1].v - a[1].v || a[1].first - b[1].first)
        .slice(0, opts.maxTokens ?? 5)
        .map(([t]) => JSON.stringify(t));
      return chosen.length === 0 ? "nothing" : `the tokens ${chosen.join(", ")}`;
    }),
});

/**
 * The JSON-quoted strings of an explanation ("…" with JSON escapes), in order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { quotedTokens } from "@patchbay/readouts";
 *
 * assert.deepEqual(quotedTokens('the tokens "x" and "\\n"'), ["x", "\n"]);
 * ```
 */
export const quotedTokens = (explanation: string): string[] => {
  const text = explanation.startsWith(EXPLANATION_PREFIX)
    ? explanation.slice(EXPLANATION_PREFIX.length)
    : explanation;
  const out: string[] = [];
  for (const m of text.matchAll(/"(?:[^"\\]|\\.)*"/g)) {
    try {
      out.push(JSON.parse(m[0]) as string);
    } catch {
      // not a JSON string: skip it
    }
  }
  return out;
};

/**
 * The simulator that goes with ruleBasedExplainer: 10 on the quoted tokens, 0 elsewhere. A NeuronSimulator `{ name, simulate }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Effect } from "effect";
 * import { ruleBasedSimulator, simulateRequest } from "@patchbay/readouts";
 * const sim = await Effect.runPromise(ruleBasedSimulator().simulate(simulateRequest('the token "x"', [["a", "x"]])));
 * assert.deepEqual(sim.expected, [[0, 10]]);
 * ```
 */
export const ruleBasedSimulator = (): NeuronSimulator => ({
  name: "rule-based",
  simulate: (req) =>
    Effect.sync(() => {
      const set = new Set(quotedTokens(req.explanation));
      return {
        expected: req.sequences.map((s) => s.map((t) => (set.has(t) ? 10 : 0))),
        method: "rule" as const,
      };
    }),
});
