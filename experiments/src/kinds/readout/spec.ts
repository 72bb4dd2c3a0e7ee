import { asIssue } from "@patchbay/readouts";
import { InputError } from "@patchbay/core";
import { Schema } from "effect";
import { limitNote } from "../../spec/limits.ts";
import { commonFields, Runtime } from "../../spec/schema.ts";
import { READOUT_METHODS } from "./methods/index.ts";

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

/** Every readout method's part of the file: the union of the methods' own (methods/index.ts). */
export const ReadoutMethod = Schema.Union(...READOUT_METHODS.map((m) => m.schema));
type Defined = (typeof READOUT_METHODS)[number];
export type ReadoutMethod = Schema.Schema.Type<Defined["schema"]>;
export type ReadoutMethodTag = Defined["tag"];

/** Every readout method's tag. */
export const READOUT_METHOD_TAGS: ReadonlySet<string> = new Set(READOUT_METHODS.map((m) => m.tag));

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

/** The fields of one readout cell. */
const readoutCellFields = {
  kind: Schema.Literal("readout"),
  model: Schema.String.annotations({
    description: "a model folder or file (relative to the experiment file) or builtin:<name>[?options]",
  }),
  data: ReadoutData,
  method: ReadoutMethod,
  runtime: Schema.optionalWith(Runtime, { default: () => ({ threads: 1 }) }),
};

export const ReadoutExperiment = Schema.Struct({ ...commonFields, ...readoutCellFields }).annotations({
  identifier: "ReadoutExperiment",
  title: "patchbay readout experiment",
  description:
    "Lenses, input attribution, DLA, attention, probes, steering, erasure, neuron explanations or SAEs on a dataset (kind: readout).",
});
export type ReadoutExperiment = typeof ReadoutExperiment.Type;

export const ReadoutCellFields = Schema.Struct({ ...readoutCellFields, seed: Int });

/** The method with its seed set to the cell's when the file does not give one (replicates differ). */
const seedMethod = (
  method: ReadoutCellSpec["method"],
  rawMethod: unknown,
  seed: number,
): ReadoutCellSpec["method"] => {
  const path = READOUT_METHODS.find((m) => m.tag === method._tag)?.seed;
  if (path === undefined) return method;
  let r: unknown = rawMethod;
  for (const k of path)
    r = typeof r === "object" && r !== null ? (r as Record<string, unknown>)[k] : undefined;
  if (r !== undefined) return method;
  const out = structuredClone(method) as unknown as Record<string, unknown>;
  let o = out;
  for (const k of path.slice(0, -1)) o = o[k] as Record<string, unknown>;
  o[path.at(-1)!] = seed;
  return out as unknown as ReadoutCellSpec["method"];
};

/**
 * A readout cell's spec: the data's seed resolved to the cell's, the builtin task to the model, and
 * the method's own seed (when it has one and the file leaves it out) to the cell's.
 */
export const normalizeReadout = (c: typeof ReadoutCellFields.Type, rawMethod: unknown): ReadoutCellSpec => {
  const d = c.data;
  const data: ReadoutCellSpec["data"] =
    "task" in d
      ? {
          kind: "task",
          builtin: d.task.builtin ?? c.model,
          n: d.task.n,
          seed: d.task.seed ?? c.seed,
          options: d.task.options,
        }
      : "texts" in d
        ? { kind: "texts", texts: d.texts }
        : { kind: "example", example: d.example, n: d.n, seed: d.seed ?? c.seed, options: d.options };
  return {
    kind: "readout",
    model: c.model,
    data,
    method: seedMethod(c.method, rawMethod, c.seed),
    runtime: { threads: c.runtime.threads },
    seed: c.seed,
  };
};
