import {
  asIssue,
  explainNeuron,
  HttpModelSpec,
  httpAccessFromEnv,
  httpExplainer,
  httpSimulator,
  LocalLmSpec,
  localExplainer,
  localSimulator,
  type NeuronExplainer,
  type NeuronRecordJson,
  type NeuronSimulator,
  neuronRecordToJson,
  type RecordsMeta,
  RecordsSpec,
  recordsDraw,
  ruleBasedExplainer,
  ruleBasedSimulator,
  type ScoreResult,
  ScoreSpec,
} from "@patchbay/readouts";
import { InputError, attempt } from "@patchbay/core/errors";
import { Effect, Schema } from "effect";
import { card, fmt, fmtScore, type Html, html } from "../../../report/html.ts";
import type { ReadoutFigures } from "../figures.ts";
import { finite, need, type Prepared, readoutMethod } from "../method.ts";
import { tok } from "../tokens.ts";
import { CELL_ERRORS, type CellError } from "../../../run/cell-errors.ts";

/** Neuron explanations: records of a unit, an explanation, its simulation and score (explain → simulate → score). */

/** Who writes and who simulates a neuron's explanation. */
export const NeuronModels = Schema.Union(
  Schema.TaggedStruct("rule-based", {}).annotations({
    description: "offline: quotes the top records' tokens, simulates by matching them (deterministic)",
  }),
  Schema.TaggedStruct("local", LocalLmSpec.fields).annotations({
    description: "the cell's own model (needs a tokenizer, e.g. stories260K) as explainer and simulator",
  }),
  Schema.TaggedStruct("http", HttpModelSpec.fields).annotations({
    description: "an OpenAI-compatible endpoint as explainer and simulator",
  }),
);

/** The local explainer's options with a given explanation (no explainer runs; the simulator reads batch). */
export const neuronModelsProblem = (m: {
  readonly score: { readonly explanation?: string | undefined };
  readonly models: typeof NeuronModels.Type;
}): InputError | null => {
  const x = m.models;
  if (m.score.explanation === undefined || x._tag !== "local") return null;
  const d = Schema.decodeSync(LocalLmSpec)({});
  const field =
    x.maxTokens !== d.maxTokens ? "maxTokens" : x.stopAtNewline !== d.stopAtNewline ? "stopAtNewline" : null;
  return field === null
    ? null
    : new InputError({
        field: `models.${field}`,
        expected: `no ${field} with score.explanation given (it shapes the local explainer's text, and no explainer runs)`,
        found: String(x[field]),
      });
};

export const Neurons = Schema.TaggedStruct("neurons", {
  records: RecordsSpec,
  score: Schema.optionalWith(ScoreSpec, { default: () => Schema.decodeSync(ScoreSpec)({}) }),
  models: Schema.optionalWith(NeuronModels, { default: () => ({ _tag: "rule-based" as const }) }),
})
  .annotations({ title: "neuron records, explanation, simulation and score" })
  .pipe(Schema.filter((m) => asIssue(neuronModelsProblem(m))));

export interface NeuronsOutput {
  /** the NeuronRecord in neuron-explainer's JSON layout */
  readonly record: NeuronRecordJson;
  readonly meta: RecordsMeta;
  readonly score: ScoreResult;
}

const neuronModels = (
  p: Prepared,
  m: typeof Neurons.Type,
): { explainer: NeuronExplainer<CellError>; simulator: NeuronSimulator<CellError> } => {
  const x = m.models;
  if (x._tag === "rule-based") return { explainer: ruleBasedExplainer(), simulator: ruleBasedSimulator() };
  if (x._tag === "http") {
    const { _tag, ...spec } = x;
    // the hosts and the key are the user's (their environment / CLI flags), never the file's
    const access = httpAccessFromEnv();
    return { explainer: httpExplainer(spec, access), simulator: httpSimulator(spec, access) };
  }
  const tok = need(
    p.model.tokenizer,
    "method.models",
    "a model with a tokenizer for the local explainer (e.g. stories260K)",
    `${p.model.config.name} without a tokenizer`,
  );
  const { _tag, ...spec } = x;
  const lm = { cache: p.model.sessions, model: p.model, tokenizer: tok };
  return { explainer: localExplainer(lm, spec), simulator: localSimulator(lm, spec) };
};

const neuronsSection = (r: NeuronsOutput, h: (t: string) => Html): Html => {
  const s = r.score;
  const max = s.maxActivation > 0 ? s.maxActivation : 1;
  const recordLine = (
    rec: { readonly tokens: readonly string[]; readonly activations: readonly number[] },
    sim?: readonly number[],
  ) =>
    html`<div class="tokens">${rec.tokens.map((t, i) => tok(t, rec.activations[i] ?? Number.NaN, 0, max, "sequential", `activation ${fmtScore(rec.activations[i])}${sim ? ` · simulated ${fmt(sim[i], 2)} / 10` : ""}`))}</div>`;
  const top = r.record.most_positive_activation_records ?? [];
  const random = r.record.random_sample ?? [];
  const scoredFrom = top.length - s.scoredTop;
  return html`${h("Neuron explanation")}
<div class="cards">${card("neuron", `${r.meta.site} [${r.meta.index}]`, true)}${card("pooled score (r)", fmt(s.score.pooled.value))}${card("r top", fmt(s.score.top.value))}${card("r random", fmt(s.score.random.value))}${card("max activation", fmtScore(s.maxActivation))}${card("explainer / simulator", `${s.explainer ?? "(given)"} / ${s.simulator}`, true)}</div>
<div class="explanation">${s.explanation}</div>
<p class="note">Explain → simulate → score (OpenAI 2023): the explainer saw ${s.shown} top records; the simulator predicted ${s.scoredTop} top and ${s.scoredRandom} random records (method ${s.method}); the score is Pearson's r pooled over all their tokens.${s.score.pooled.reason ? ` Pooled r undefined: ${s.score.pooled.reason}.` : ""}</p>
${h("Top-activating records")}
${top.slice(0, 12).map((rec, i) => recordLine(rec, i >= scoredFrom ? s.simulated.top[i - scoredFrom] : undefined))}
${h("Random records")}
${random.slice(0, 8).map((rec, i) => recordLine(rec, s.simulated.random[i]))}
<p class="note">Tokens coloured by the neuron's activation on 0 … max activation (viridis); hover for the value and, on scored records, the simulated activation (0–10). ${r.meta.prompts} prompts, ${r.meta.tokens} tokens scanned; activation range ${fmtScore(r.meta.min)} … ${fmtScore(r.meta.max)}.</p>`;
};

export const neurons = readoutMethod({
  tag: "neurons",
  schema: Neurons,
  seed: ["records", "seed"],
  run: (p, m) =>
    Effect.gen(function* () {
      const cache = p.model.sessions;
      const model = p.model;
      const models = yield* attempt(() => neuronModels(p, m), ...CELL_ERRORS);
      const tok = model.tokenizer;
      const tokens = p.data.prompts.map((ids) => ids.map((id) => (tok ? tok.idToToken(id) : String(id))));
      const r = yield* explainNeuron(
        cache,
        model,
        // the cell's seed (when the file gives none) only where records are drawn
        { records: recordsDraw(m.records) ? m.records : { ...m.records, seed: 0 }, score: m.score },
        { prompts: p.data.prompts, tokens },
        models,
      );
      return {
        result: { record: neuronRecordToJson(r.records.record), meta: r.records.meta, score: r.score },
      };
    }),
  figures: (r: NeuronsOutput): ReadoutFigures => {
    return {
      headlineLabel: "pooled score (Pearson r)",
      headline: finite(r.score.score.pooled.value),
      site: r.meta.site,
      neuron: r.meta.index,
      explanation: r.score.explanation,
      scoreTop: finite(r.score.score.top.value),
      scoreRandom: finite(r.score.score.random.value),
    };
  },
  section: neuronsSection,
});
