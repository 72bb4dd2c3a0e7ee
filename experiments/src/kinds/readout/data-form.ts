import { InputError } from "@patchbay/core/errors";
import { asIssue } from "@patchbay/readouts";
import { Effect, Schema } from "effect";
import { limitNote } from "../../spec/limits.ts";
import { decodeDocument } from "../../spec/parse.ts";
import type { ExperimentFileError } from "../../spec/schema.ts";

/**
 * A readout cell's data in the file (a builtin task, texts or one of the readouts package's
 * datasets) and everything of a normalized readout cell but its method: what the methods, the
 * dataset (data.ts) and the checks read without knowing the list of methods (methods/index.ts).
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

/** A normalized readout cell but its method (spec.ts adds it): what a method's run reads of the cell. */
export interface ReadoutCell {
  readonly kind: "readout";
  /** a model path (relative to the experiment file) or builtin:<name> */
  readonly model: string;
  readonly data: ReadoutCellData;
  readonly runtime: { readonly threads: number };
  readonly seed: number;
}

/**
 * A readout document's `data` decoded against the form its key selects (task, texts or example):
 * the union would otherwise report every member's complaint, and the deepest of them names the
 * wrong form's fields.
 */
export const checkReadoutData = (
  file: string,
  doc: Readonly<Record<string, unknown>>,
  prefix = "",
): Effect.Effect<void, ExperimentFileError> => {
  const d = doc.data;
  if (typeof d !== "object" || d === null || Array.isArray(d)) return Effect.void;
  const form =
    "task" in d
      ? ReadoutTaskData
      : "texts" in d
        ? ReadoutTextData
        : "example" in d
          ? ReadoutExampleData
          : null;
  if (form === null) return Effect.void;
  return Effect.asVoid(decodeDocument(Schema.Struct({ data: form }), file, { data: d }, prefix));
};
