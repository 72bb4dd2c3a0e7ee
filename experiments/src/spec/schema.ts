import { checkThreads, maxThreads, THREADS_PER_CORE } from "@patchbay/core/runtime";
import { Data, Schema } from "effect";
import { limitNote } from "./limits.ts";

/**
 * What every experiment file has, whatever its kind (kinds/<kind>/spec.ts has the rest): name,
 * seeds, outputs, sweep axes over any field by dotted path, the runtime of a cell. The file's
 * `kind` picks its form: circuit (the default), causal or readout (kinds/index.ts lists them);
 * `experiments/experiment.schema.json` is generated from their union (JSONSchema.make). Paths
 * (model folders, task files, outputs.results) are relative to the experiment file.
 */

export const Int = Schema.Int;
export const PositiveInt = Schema.Int.pipe(Schema.positive());
export const NonNegativeInt = Schema.Int.pipe(Schema.nonNegative());

export const Runtime = Schema.Struct({
  threads: Schema.optionalWith(
    PositiveInt.pipe(
      Schema.filter((n) => checkThreads(n, "runtime.threads") === null, {
        message: () => `an integer from 1 to ${maxThreads()} (${THREADS_PER_CORE} × this machine's cores)`,
      }),
    ),
    { default: () => 1 },
  ).annotations({
    description: `ORT intra-op threads per cell (1: bit-identical results; at most ${THREADS_PER_CORE} × the machine's cores)`,
  }),
}).annotations({ identifier: "Runtime" });

export const Outputs = Schema.Struct({
  results: Schema.optionalWith(Schema.String, { default: () => "results" }).annotations({
    description:
      "the results store, relative to the experiment file; it must lie inside the experiment file's folder or the current directory (`run --results DIR` may point anywhere)",
  }),
}).annotations({ identifier: "Outputs" });

const Axes = Schema.Record({ key: Schema.String, value: Schema.Array(Schema.Unknown) });

export const Sweep = Schema.Struct({
  grid: Schema.optional(Axes).annotations({
    description: 'cartesian product over dotted field paths: {"method.tau": [0.1, 0.5], "task.seed": [0, 1]}',
  }),
  zip: Schema.optional(Axes).annotations({
    description: "parallel lists of equal length (one cell per index), combined with the grid by product",
  }),
}).annotations({
  identifier: "Sweep",
  description: `cells = grid product × zip length × seeds (${limitNote("cells")})`,
});

export const commonFields = {
  $schema: Schema.optional(Schema.String),
  name: Schema.optional(Schema.String).annotations({ description: "default: the file name" }),
  description: Schema.optional(Schema.String),
  seeds: Schema.optionalWith(Schema.NonEmptyArray(Int), { default: () => [0] as const }).annotations({
    description: `replicates: every cell runs once per seed (the data seed unless given; ${limitNote("seeds")})`,
  }),
  outputs: Schema.optionalWith(Outputs, { default: () => ({ results: "results" }) }),
  sweep: Schema.optional(Sweep),
};

/** An experiment file that cannot be read or does not fit the schema: names file and field path. */
export class ExperimentFileError extends Data.TaggedError("ExperimentFileError")<{
  readonly file: string;
  readonly field: string;
  readonly expected: string;
  readonly found: string;
}> {
  override get message(): string {
    return `${this.file}: ${this.field}: expected ${this.expected}, found ${this.found}`;
  }
}
