import {
  asIssue,
  AttentionSpec,
  attentionProblem,
  DlaSpec,
  ErasureSpec,
  FeatureCircuitSpec,
  HttpModelSpec,
  InputAttributionSpec,
  inputAttributionProblem,
  LensEvalSpec,
  LocalLmSpec,
  PatchscopeSpec,
  ProbeSpec,
  probeProblem,
  RecordsSpec,
  SaeSpec,
  ScoreSpec,
  SteeringSpec,
  SweepSpec,
  TunedLensTrainSpec,
  tunedLensProblem,
} from "@patchbay/readouts";
import { InputError, Metric } from "@patchbay/core";
import { Schema } from "effect";
import { limitNote } from "../../spec/limits.ts";

/**
 * Readout experiments (`kind: readout`; docs/methods.md#readouts): a model, a dataset, one readout method of
 * @patchbay/readouts — logit / tuned lens, input attribution, direct logit attribution, attention
 * patterns, linear probes, steering, linear erasure, neuron explanations, sparse autoencoders,
 * Patchscopes (one source → target patch, or an inspection prompt swept over layers).
 * Each method's fields are the readouts package's own spec fields (same names, same defaults),
 * so `method: {_tag: probe, site: …}` in a file is exactly a ProbeSpec. A method's own seed (tuned
 * lens, probe, erasure's probe, SAE training, neuron records) follows the cell's seed unless the file
 * gives it, as the data's does, so `seeds: [0, 1, 2]` gives independent replicates. Same file
 * format, sweeps, seeds, store and reports as the other kinds.
 */
const Int = Schema.Int;
const PositiveInt = Schema.Int.pipe(Schema.positive());
const Options = Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.Unknown }), {
  default: () => ({}),
});

/** A builtin zoo task (core's taskFor): clean/corrupted prompts, metric positions, answers, wrong. */
export const ReadoutTaskData = Schema.Struct({
  task: Schema.Struct({
    builtin: Schema.optional(Schema.String).annotations({
      description: "the builtin whose generator makes the task (builtin:<name>); default: the model",
    }),
    n: Schema.optionalWith(PositiveInt, { default: () => 16 }).annotations({
      description: `number of clean/corrupted pairs (${limitNote("examples")})`,
    }),
    seed: Schema.optional(Int).annotations({ description: "generator seed; default: the cell's seed" }),
    options: Options.annotations({ description: "generator options (induction: corrupt, blockLen, …)" }),
  }),
}).annotations({ identifier: "ReadoutTaskData", title: "builtin task" });

/** Texts, tokenised with the model's tokenizer (models with a tokenizer: stories260K, HF folders). */
export const ReadoutTextData = Schema.Struct({
  texts: Schema.NonEmptyArray(Schema.String).annotations({
    description:
      "prompts as text, tokenised with the model's tokenizer (with BOS); for dla and input attribution the last token is the answer",
  }),
}).annotations({ identifier: "ReadoutTextData", title: "texts" });

/** The readouts package's built-in datasets. */
export const ReadoutExampleName = Schema.Literal("prev-token", "induction-steering", "happy-sad");

/** prev-token's default number of prompts (the other datasets are fixed sets of prompts). */
const EXAMPLE_N = 64;

/** The options each built-in dataset reads (any other key would be ignored, so it is refused). */
const EXAMPLE_OPTIONS: Readonly<Record<typeof ReadoutExampleName.Type, readonly string[]>> = {
  "prev-token": ["length", "vocabSize"],
  "induction-steering": ["a", "b", "others"],
  "happy-sad": [],
};

/** n, seed and options a built-in dataset does not read (only prev-token draws its prompts). */
export const exampleDataProblem = (d: {
  readonly example: typeof ReadoutExampleName.Type;
  readonly n: number;
  readonly seed?: number | undefined;
  readonly options: Readonly<Record<string, unknown>>;
}): InputError | null => {
  const fixed = `${d.example} is a fixed set of prompts`;
  if (d.example !== "prev-token" && d.n !== EXAMPLE_N)
    return new InputError({
      field: "n",
      expected: `no n unless example is prev-token (${fixed})`,
      found: String(d.n),
    });
  if (d.example !== "prev-token" && d.seed !== undefined)
    return new InputError({
      field: "seed",
      expected: `no seed unless example is prev-token (${fixed}, nothing is drawn)`,
      found: String(d.seed),
    });
  const known = EXAMPLE_OPTIONS[d.example];
  const unknown = Object.keys(d.options).find((k) => !known.includes(k));
  return unknown === undefined
    ? null
    : new InputError({
        field: `options.${unknown}`,
        expected: `${known.length === 0 ? "no options" : `one of the options ${known.join(", ")}`} for example ${d.example}`,
        found: JSON.stringify(unknown),
      });
};

export const ReadoutExampleData = Schema.Struct({
  example: ReadoutExampleName.annotations({
    description:
      "prev-token: random prompts labelled with each position's previous token (probe, erasure; options length, vocabSize); induction-steering: [BOS, x, a, …, x] contrasts on the induction model (steering; options a, b, others); happy-sad: the happy/sad contrast prompts (steering; needs a tokenizer, e.g. stories260K)",
  }),
  n: Schema.optionalWith(PositiveInt, { default: () => EXAMPLE_N }).annotations({
    description: `prev-token: number of prompts (${limitNote("examples")})`,
  }),
  seed: Schema.optional(Int).annotations({ description: "prev-token: default: the cell's seed" }),
  options: Options,
})
  .annotations({ identifier: "ReadoutExampleData", title: "built-in readout dataset" })
  .pipe(Schema.filter((d) => asIssue(exampleDataProblem(d))));

export const ReadoutData = Schema.Union(ReadoutTaskData, ReadoutTextData, ReadoutExampleData);
export type ReadoutData = typeof ReadoutData.Type;

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

export const ReadoutMethod = Schema.Union(
  Schema.TaggedStruct("logit-lens", LensEvalSpec.fields).annotations({
    title: "logit lens: KL(final ‖ lens) per layer, top tokens per layer × position",
  }),
  Schema.TaggedStruct("tuned-lens", {
    ...TunedLensTrainSpec.from.fields,
    topK: LensEvalSpec.fields.topK,
    tablePrompt: LensEvalSpec.fields.tablePrompt,
    heldOut: Schema.optionalWith(Schema.Number.pipe(Schema.between(0, 0.9)), {
      default: () => 0.25,
    }).annotations({
      description:
        "fraction of prompts held out (seeded split) on which both lenses are evaluated; 0: evaluate on the training prompts",
    }),
  })
    .annotations({ title: "tuned lens: translators trained, evaluated against the logit lens" })
    // the seed also splits the prompts when some are held out
    .pipe(Schema.filter((m) => asIssue(tunedLensProblem(m, m.heldOut > 0)))),
  Schema.TaggedStruct("input-attribution", InputAttributionSpec.from.fields)
    .annotations({ title: "gradient, gradient × input, integrated gradients, occlusion" })
    .pipe(Schema.filter((m) => asIssue(inputAttributionProblem(m)))),
  Schema.TaggedStruct("dla", DlaSpec.fields).annotations({ title: "direct logit attribution" }),
  Schema.TaggedStruct("attention", AttentionSpec.from.fields)
    .annotations({ title: "attention patterns and rollout" })
    .pipe(Schema.filter((m) => asIssue(attentionProblem(m)))),
  Schema.TaggedStruct("probe", {
    ...ProbeSpec.from.fields,
    site: Schema.Union(Schema.String, Schema.NonEmptyArray(Schema.String)).annotations({
      description: "the site probed, or a list of sites (one probe each, one capture pass)",
    }),
  })
    .annotations({ title: "linear probes with a control task" })
    .pipe(Schema.filter((m) => asIssue(probeProblem(m)))),
  Schema.TaggedStruct("steering", SteeringSpec.fields).annotations({
    title: "difference-of-means steering over α",
  }),
  Schema.TaggedStruct("erasure", ErasureSpec.fields).annotations({ title: "linear erasure (project-out)" }),
  Schema.TaggedStruct("neurons", {
    records: RecordsSpec,
    score: Schema.optionalWith(ScoreSpec, { default: () => Schema.decodeSync(ScoreSpec)({}) }),
    models: Schema.optionalWith(NeuronModels, { default: () => ({ _tag: "rule-based" as const }) }),
  })
    .annotations({ title: "neuron records, explanation, simulation and score" })
    .pipe(Schema.filter((m) => asIssue(neuronModelsProblem(m)))),
  Schema.TaggedStruct("sae", SaeSpec.fields).annotations({
    title: "sparse autoencoder: train, evaluate, splice (CE loss recovered)",
  }),
  Schema.TaggedStruct("sae-circuit", {
    ...SaeSpec.fields,
    splice: Schema.optionalWith(Schema.Boolean, { default: () => false }),
    ...FeatureCircuitSpec.fields,
    metric: Schema.optionalWith(Metric, { default: () => ({ kind: "logit-diff" as const }) }),
  }).annotations({
    title:
      "sparse feature circuit: an SAE trained at the site, its features and error term as nodes scored on the task (clean vs corrupted), faithfulness of the top-n nodes",
  }),
  Schema.TaggedStruct("patchscope", PatchscopeSpec.fields).annotations({
    title:
      "patchscope: h at (source site, position) of each source prompt written into the target prompt; a task patches clean → corrupted and expects the clean answer, texts patch each text into itself",
  }),
  Schema.TaggedStruct("patchscope-sweep", SweepSpec.fields).annotations({
    title:
      "patchscope sweep: each text's last-but-one position (expected: its last token) patched into a built-in inspection prompt, per source layer (needs a tokenizer, e.g. stories260K)",
  }),
);
export type ReadoutMethod = typeof ReadoutMethod.Type;
export type ReadoutMethodTag = ReadoutMethod["_tag"];

/** Every readout method's tag; the record type makes the compiler check the list is complete. */
export const READOUT_METHOD_TAGS: ReadonlySet<string> = new Set(
  Object.keys({
    "logit-lens": true,
    "tuned-lens": true,
    "input-attribution": true,
    dla: true,
    attention: true,
    probe: true,
    steering: true,
    erasure: true,
    neurons: true,
    sae: true,
    "sae-circuit": true,
    patchscope: true,
    "patchscope-sweep": true,
  } satisfies Record<ReadoutMethodTag, true>),
);

/** The data of a normalized readout cell (seeds resolved). */
export type ReadoutCellData =
  | {
      readonly kind: "task";
      readonly builtin: string;
      readonly n: number;
      readonly seed: number;
      readonly options: Readonly<Record<string, unknown>>;
    }
  | { readonly kind: "texts"; readonly texts: readonly string[] }
  | {
      readonly kind: "example";
      readonly example: typeof ReadoutExampleName.Type;
      readonly n: number;
      readonly seed: number;
      readonly options: Readonly<Record<string, unknown>>;
    };

/** The normalized spec of a readout cell (what the cell id hashes and a worker receives). */
export interface ReadoutCellSpec {
  readonly kind: "readout";
  /** a model path (relative to the experiment file) or builtin:<name> */
  readonly model: string;
  readonly data: ReadoutCellData;
  readonly method: ReadoutMethod;
  readonly runtime: { readonly threads: number };
  readonly seed: number;
}

export const isReadoutSpec = <S extends object>(s: S | ReadoutCellSpec): s is ReadoutCellSpec =>
  (s as { readonly kind?: unknown }).kind === "readout";
