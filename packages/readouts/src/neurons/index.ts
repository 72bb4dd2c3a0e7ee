/**
 * Neuron explanations after OpenAI's "Language models can explain neurons in language models"
 * (2023): records → explain → simulate → score (docs/methods.md#neuron-explanations).
 */
export {
  RecordsSpec,
  recordsDraw,
  recordsProblem,
  ScoreSpec,
  scoreProblem,
  LocalLmSpec,
  HttpModelSpec,
  NeuronExplanationSpec,
} from "./spec.ts";
export {
  type ActivationRecord,
  type NeuronId,
  type NeuronRecord,
  NeuronRecordJson,
  neuronRecordToJson,
  neuronRecordFromJson,
  maxActivation,
} from "./format.ts";
export {
  neuronRecords,
  windowStart,
  defaultBefore,
  type RecordsData,
  type RecordsMeta,
  type RecordsResult,
  type WindowSource,
} from "./records.ts";
export { MomentAccumulator, type Moments, quantileBoundaries, quantileSorted, binOf } from "./stats.ts";
export {
  EXPLANATION_PREFIX,
  normalizeActivations,
  formatRecords,
  explanationPrompt,
  simulationPrompt,
  parseSimulationText,
  cleanExplanation,
  type ChatMessage,
  type Prompt,
  type PromptPart,
} from "./prompts.ts";
export { pearson, scoreSimulation, type Correlation, type SimulationScore } from "./scoring.ts";
export {
  type NeuronExplainer,
  type NeuronSimulator,
  type ExplainRequest,
  type SimulateRequest,
  type Simulation,
  explainRequest,
  simulateRequest,
  ModelResponseError,
} from "./model.ts";
export { ruleBasedExplainer, ruleBasedSimulator, quotedTokens, type RuleBasedOptions } from "./rule-based.ts";
export {
  localExplainer,
  localSimulator,
  localExpectedValues,
  expectedValue,
  valueTokens,
  encodePrompt,
  continuationIds,
  type LocalLm,
  type ExpectedValues,
} from "./local-lm.ts";
export {
  httpExplainer,
  httpSimulator,
  chatCompletion,
  parseAnswer,
  expectedFromLogprobs,
  ApiTimeoutError,
  ApiHttpError,
  type ApiError,
  type ChatAnswer,
} from "./http.ts";
export {
  explainSimulateScore,
  explainNeuron,
  type ScoreResult,
  type NeuronExplanationResult,
} from "./pipeline.ts";
export {
  ALLOW_HOSTS_ENV,
  API_KEY_ENV_ENV,
  ApiAccessError,
  checkAccess,
  type HttpAccess,
  httpAccessFromEnv,
  noHttpAccess,
} from "./access.ts";
