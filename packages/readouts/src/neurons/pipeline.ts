import { Effect } from "effect";
import { InputError, type RuntimeError } from "@patchbay/core/errors";
import type { Model } from "@patchbay/core/model";
import type { SessionCache } from "@patchbay/core/runtime";
import { maxActivation, type NeuronRecord } from "./format.ts";
import {
  explainRequest,
  ModelResponseError,
  type NeuronExplainer,
  type NeuronSimulator,
  simulateRequest,
} from "./model.ts";
import { neuronRecords, type RecordsData, type RecordsResult } from "./records.ts";
import { scoreSimulation, type SimulationScore } from "./scoring.ts";
import { type NeuronExplanationSpec, type ScoreSpec, scoreProblem } from "./spec.ts";

export interface ScoreResult {
  readonly explanation: string;
  /** Null when the spec gave the explanation. */
  readonly explainer: string | null;
  readonly simulator: string;
  readonly method: "probabilities" | "text" | "rule";
  /** The neuron's max_activation (over its top records): the scale of the 0–10 values. */
  readonly maxActivation: number;
  /** How many top records the explainer saw, and how many top / random records were scored. */
  readonly shown: number;
  readonly scoredTop: number;
  readonly scoredRandom: number;
  readonly score: SimulationScore;
  /** The simulated activations (0–10 scale), per scored record. */
  readonly simulated: { readonly top: number[][]; readonly random: number[][] };
}

/**
 * Explain → simulate → score (docs/methods.md#neuron-explanations) on one NeuronRecord:
 *   1. the explainer sees the first `explainTop` top records, values normalised by the neuron's
 *      max_activation (unless `spec.explanation` is given);
 *   2. the simulator predicts every token of the scored top records ("rest": those not shown,
 *      or all when none are left) and of every random record;
 *   3. the score is Pearson's r pooled over all those tokens (plus r per set).
 *
 * Returns a ScoreResult `{ explanation, explainer, simulator, method, maxActivation, score, … }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Effect } from "effect";
 * import { explainSimulateScore, ruleBasedExplainer, ruleBasedSimulator } from "@patchbay/readouts";
 * const rec = (tokens: string[]) => ({ tokens, activations: tokens.map((t) => (t === "x" ? 8 : 0)) });
 * const record = {
 *   neuronId: { layerIndex: 0, neuronIndex: 3 },
 *   randomSample: [rec(["a", "b", "x"]), rec(["c", "a", "b"])],
 *   randomSampleByQuantile: null,
 *   quantileBoundaries: null,
 *   mean: null,
 *   variance: null,
 *   skewness: null,
 *   kurtosis: null,
 *   mostPositiveActivationRecords: [rec(["a", "x", "b"]), rec(["x", "c", "a"]), rec(["b", "b", "x"])],
 * };
 * const r = await Effect.runPromise(
 *   explainSimulateScore(ruleBasedExplainer(), ruleBasedSimulator(), record, { explainTop: 1, scoreTop: "rest" }),
 * );
 * assert.match(r.explanation, /"x"/);
 * assert.equal(r.simulator, "rule-based");
 * ```
 */
export const explainSimulateScore = <E1, E2>(
  explainer: NeuronExplainer<E1> | null,
  simulator: NeuronSimulator<E2>,
  record: NeuronRecord,
  spec: ScoreSpec,
): Effect.Effect<ScoreResult, E1 | E2 | InputError | ModelResponseError> =>
  Effect.gen(function* () {
    const refused = scoreProblem(spec);
    if (refused !== null) return yield* refused;
    const top = record.mostPositiveActivationRecords;
    if (top.length === 0)
      return yield* new InputError({
        field: "record.most_positive_activation_records",
        expected: "at least one record",
        found: "none",
      });
    const max = maxActivation(top);
    const shown = top.slice(0, spec.explainTop);
    let explanation: string;
    if (spec.explanation !== undefined) explanation = spec.explanation;
    else if (explainer !== null) explanation = yield* explainer.explain(explainRequest(shown, max));
    else
      return yield* new InputError({
        field: "spec.explanation",
        expected: "an explanation, or an explainer to write one",
        found: "neither",
      });
    const rest = top.slice(spec.explainTop);
    const scoredTop = spec.scoreTop === "all" || rest.length === 0 ? top : rest;
    const random = record.randomSample;
    const sequences = [...scoredTop, ...random].map((r) => r.tokens);
    const sim = yield* simulator.simulate(simulateRequest(explanation, sequences));
    const bad = (field: string, expected: string, found: string) =>
      new ModelResponseError({ model: simulator.name, field, expected, found });
    if (sim.expected.length !== sequences.length)
      return yield* bad("expected", `${sequences.length} sequences`, String(sim.expected.length));
    for (const [i, s] of sequences.entries()) {
      const e = sim.expected[i]!;
      if (e.length !== s.length) return yield* bad(`expected[${i}]`, `${s.length} values`, String(e.length));
      const k = e.findIndex((x) => !Number.isFinite(x));
      if (k >= 0) return yield* bad(`expected[${i}][${k}]`, "a finite value", String(e[k]));
    }
    const simTop = sim.expected.slice(0, scoredTop.length).map((r) => [...r]);
    const simRandom = sim.expected.slice(scoredTop.length).map((r) => [...r]);
    return {
      explanation,
      explainer: spec.explanation !== undefined ? null : (explainer?.name ?? null),
      simulator: simulator.name,
      method: sim.method,
      maxActivation: max,
      shown: shown.length,
      scoredTop: scoredTop.length,
      scoredRandom: random.length,
      score: scoreSimulation(scoredTop, simTop, random, simRandom),
      simulated: { top: simTop, random: simRandom },
    };
  });

export interface NeuronExplanationResult {
  readonly records: RecordsResult;
  readonly score: ScoreResult;
}

/**
 * The whole method from data: collect the neuron's records through the engine, then score.
 *
 * Returns `{ records, score }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSessionCache } from "@patchbay/core/runtime";
 * import { inductionModel, inductionTask } from "@patchbay/zoo";
 * import { Effect, Schema } from "effect";
 * import { explainNeuron, NeuronExplanationSpec, ruleBasedExplainer, ruleBasedSimulator } from "@patchbay/readouts";
 * const model = inductionModel();
 * const prompts = inductionTask(0, 8, { blockLen: 4 }).clean;
 * const spec = Schema.decodeUnknownSync(NeuronExplanationSpec)({
 *   records: { site: "blocks.0.resid_post", index: 3, topK: 4, randomK: 2, window: 6 },
 *   score: { explainTop: 2 },
 * });
 * const models = { explainer: ruleBasedExplainer(), simulator: ruleBasedSimulator() };
 * const r = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.flatMap(makeSessionCache("doc", { threads: 1 }), (cache) =>
 *       explainNeuron(cache, model, spec, { prompts }, models),
 *     ),
 *   ),
 * );
 * assert.equal(r.records.record.mostPositiveActivationRecords.length, 4);
 * assert.equal(typeof r.score.explanation, "string");
 * ```
 */
export const explainNeuron = <E1, E2>(
  cache: SessionCache,
  model: Model,
  spec: NeuronExplanationSpec,
  data: RecordsData,
  models: { readonly explainer: NeuronExplainer<E1> | null; readonly simulator: NeuronSimulator<E2> },
): Effect.Effect<NeuronExplanationResult, E1 | E2 | InputError | RuntimeError | ModelResponseError> =>
  Effect.gen(function* () {
    const records = yield* neuronRecords(cache, model, spec.records, data);
    const score = yield* explainSimulateScore(models.explainer, models.simulator, records.record, spec.score);
    return { records, score };
  });
