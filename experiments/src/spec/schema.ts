import { type Discovery, discoveryProblem, Method, Selection } from "@patchbay/circuits";
import {
  checkThreads,
  EdgeAblation,
  GRANULARITIES,
  type Granularity,
  MetricKind,
  maxThreads,
  THREADS_PER_CORE,
} from "@patchbay/core";
import { isBuiltinPath } from "@patchbay/zoo";
import { Data, Schema } from "effect";
import { type CausalCellSpec, CausalMethod, CausalTaskSpec, causalCellProblem } from "./causal.ts";
import { limitNote } from "./limits.ts";
import { ReadoutData, type ReadoutCellSpec, ReadoutMethod } from "./readout.ts";
export { type CausalCellSpec, isCausalSpec } from "./causal.ts";
export { type ReadoutCellSpec, isReadoutSpec } from "./readout.ts";

/**
 * The experiment file (YAML or JSON) as an effect Schema: one discovery (model, task, method,
 * ablation, metric, granularity, selection, evaluation) plus sweep axes over any field by dotted
 * path. `experiments/experiment.schema.json` is generated from `Experiment` (JSONSchema.make).
 * Paths (model folders, task files, outputs.results) are relative to the experiment file.
 */

const Int = Schema.Int;
const PositiveInt = Schema.Int.pipe(Schema.positive());
const NonNegativeInt = Schema.Int.pipe(Schema.nonNegative());

/** A builtin's task generator: `taskFor(builtin, {seed, n, options})`. */
export const BuiltinTaskSpec = Schema.Struct({
  builtin: Schema.optional(Schema.String).annotations({
    description:
      "the builtin whose generator makes the task (builtin:<name>[?options]); default: the model, when it is a builtin",
  }),
  n: Schema.optionalWith(PositiveInt, { default: () => 16 }).annotations({
    description: `number of clean/corrupted pairs (${limitNote("examples")})`,
  }),
  seed: Schema.optional(Int).annotations({ description: "generator seed; default: the cell's seed" }),
  options: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.Unknown }), {
    default: () => ({}),
  }).annotations({ description: "generator options (induction: corrupt, blockLen, …)" }),
}).annotations({ identifier: "BuiltinTask", title: "builtin task generator" });

/** A JSONL task file (packages/zoo/src/tasks/FORMAT.md), relative to the experiment file. */
export const FileTaskSpec = Schema.Struct({
  file: Schema.String.annotations({ description: "a JSONL task file, relative to the experiment file" }),
}).annotations({ identifier: "FileTask", title: "task file (JSONL)" });

export const TaskSpec = Schema.Union(BuiltinTaskSpec, FileTaskSpec);
export type TaskSpec = typeof TaskSpec.Type;

export const Evaluation = Schema.Struct({
  curve: Schema.optionalWith(Schema.Boolean, { default: () => false }).annotations({
    description: "faithfulness over circuit sizes (MIB grid) with CPR and CMD",
  }),
  spearmanSample: Schema.optionalWith(NonNegativeInt, { default: () => 64 }).annotations({
    description: "attribution methods: Spearman vs exact patching on this many sampled edges (0: skip)",
  }),
  spearmanSeed: Schema.optional(Int).annotations({
    description: "default: the cell's seed; refused with spearmanSample 0 (nothing to draw)",
  }),
  truth: Schema.optionalWith(Schema.Union(Schema.Boolean, Schema.String), {
    default: () => true,
  }).annotations({
    description:
      "compare to the builtin's ground-truth circuit: true (the variant matching ablation and task), false, or a variant name (resample/first, zero, …)",
  }),
})
  .pipe(
    Schema.filter((e) =>
      e.spearmanSample === 0 && e.spearmanSeed !== undefined
        ? { path: ["spearmanSeed"], message: "no spearmanSeed when spearmanSample is 0 (no sample is drawn)" }
        : true,
    ),
  )
  .annotations({ identifier: "Evaluation" });

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

/** The fields of one cell (everything a discovery depends on). */
const cellFields = {
  kind: Schema.optional(Schema.Literal("circuit")).annotations({
    description:
      "circuit (the default), causal (causal abstraction: see the causal experiment form) or readout (lenses, attribution, probes, steering, neurons, SAEs: see the readout experiment form)",
  }),
  model: Schema.String.annotations({
    description: "a model folder or file (relative to the experiment file) or builtin:<name>[?options]",
  }),
  task: TaskSpec,
  method: Method,
  ablation: Schema.optionalWith(EdgeAblation, { default: () => "resample" as const }),
  metric: Schema.optionalWith(MetricKind, { default: () => "logit-diff" as const }),
  granularity: Schema.optionalWith(Schema.Literal(...GRANULARITIES), {
    default: () => "head" as const,
  }).annotations({
    description:
      "head, head-qkv (grouped-query models: a <k>/<v> per query head, as MIB names them) or layer",
  }),
  selection: Schema.optional(Schema.NullOr(Selection)).annotations({
    description:
      "how the circuit is chosen from the scores; default: top 5% by |score|. ACDC decides its own: none or null with it (null lets a sweep over methods drop it)",
  }),
  evaluation: Schema.optionalWith(Evaluation, { default: () => Schema.decodeSync(Evaluation)({}) }),
  runtime: Schema.optionalWith(Runtime, { default: () => ({ threads: 1 }) }),
};

export const Experiment = Schema.Struct({
  $schema: Schema.optional(Schema.String),
  name: Schema.optional(Schema.String).annotations({ description: "default: the file name" }),
  description: Schema.optional(Schema.String),
  ...cellFields,
  seeds: Schema.optionalWith(Schema.NonEmptyArray(Int), { default: () => [0] as const }).annotations({
    description: `replicates: every cell runs once per seed (the task seed and Spearman sample seed unless given; ${limitNote("seeds")})`,
  }),
  outputs: Schema.optionalWith(Outputs, { default: () => ({ results: "results" }) }),
  sweep: Schema.optional(Sweep),
}).annotations({
  identifier: "Experiment",
  title: "patchbay experiment",
  description:
    "A circuit-discovery experiment: one discovery, or a sweep of them (experiments/README in the repository README, section Experiments).",
});
export type Experiment = typeof Experiment.Type;

const commonFields = {
  $schema: Schema.optional(Schema.String),
  name: Schema.optional(Schema.String).annotations({ description: "default: the file name" }),
  description: Schema.optional(Schema.String),
  seeds: Schema.optionalWith(Schema.NonEmptyArray(Int), { default: () => [0] as const }).annotations({
    description: `replicates: every cell runs once per seed (the data seed unless given; ${limitNote("seeds")})`,
  }),
  outputs: Schema.optionalWith(Outputs, { default: () => ({ results: "results" }) }),
  sweep: Schema.optional(Sweep),
};

/** The fields of one causal cell. */
const causalCellFields = {
  kind: Schema.Literal("causal"),
  model: Schema.optional(Schema.String).annotations({
    description: "a model folder or builtin:<name>; default: the causal task's own network",
  }),
  task: CausalTaskSpec,
  method: CausalMethod,
  runtime: Schema.optionalWith(Runtime, { default: () => ({ threads: 1 }) }),
};

export const CausalExperiment = Schema.Struct({ ...commonFields, ...causalCellFields }).annotations({
  identifier: "CausalExperiment",
  title: "patchbay causal-abstraction experiment",
  description:
    "IIA of alignments, IIA sweeps over (site, position), or DAS with its controls (kind: causal).",
});
export type CausalExperiment = typeof CausalExperiment.Type;

export const CausalCellFields = Schema.Struct({ ...causalCellFields, seed: Int }).pipe(
  // task fields the cell's method would not read are refused here, at load time
  Schema.filter((c) => {
    const p = causalCellProblem(c.task, c.method);
    return p === null || { path: p.field.split("."), message: p.expected };
  }),
);

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

/** Any form of experiment file; `kind: causal` / `kind: readout` select the other forms. */
export const AnyExperiment = Schema.Union(Experiment, CausalExperiment, ReadoutExperiment);
export type AnyExperiment = Experiment | CausalExperiment | ReadoutExperiment;
export const isCausalDocument = (raw: Readonly<Record<string, unknown>>): boolean => raw.kind === "causal";
export const isReadoutDocument = (raw: Readonly<Record<string, unknown>>): boolean => raw.kind === "readout";

/** One cell as decoded (an experiment with every sweep axis fixed and `seed` for `seeds`). */
export const CellFields = Schema.Struct({ ...cellFields, seed: Int }).pipe(
  // options the cell's method would ignore are refused here, at load time (circuits' own rules)
  Schema.filter((c) => {
    const p = discoveryProblem({ method: c.method, selection: c.selection ?? undefined }, c.ablation);
    if (p !== null) return { path: p.field.split("."), message: p.expected };
    if (typeof c.evaluation.truth === "string" && (c.granularity === "layer" || !isBuiltinPath(c.model)))
      return {
        path: ["evaluation", "truth"],
        message: `a builtin model at head or head-qkv granularity for a named ground truth (model ${c.model}, granularity ${c.granularity})`,
      };
    return true;
  }),
);

/**
 * The normalized cell spec: every default filled in, seeds resolved, keys canonical. This (as
 * canonical JSON) is what the cell id hashes, and what a worker receives.
 */
export type CellSpec = CircuitCellSpec | CausalCellSpec | ReadoutCellSpec;

export interface CircuitCellSpec {
  readonly model: string;
  readonly task:
    | {
        readonly kind: "builtin";
        readonly builtin: string;
        readonly n: number;
        readonly seed: number;
        readonly options: Readonly<Record<string, unknown>>;
      }
    | { readonly kind: "file"; readonly file: string };
  readonly method: Method;
  readonly ablation: EdgeAblation;
  readonly metric: MetricKind;
  readonly granularity: Granularity;
  readonly selection: Selection | null;
  readonly evaluation: {
    readonly curve: boolean;
    readonly spearmanSample: number;
    readonly spearmanSeed: number;
    readonly truth: boolean | string;
  };
  readonly runtime: { readonly threads: number };
  readonly seed: number;
}

/** The discovery spec of a cell, as circuits' `discover` takes it. */
export const discoveryOf = (c: CircuitCellSpec): Discovery => ({
  method: c.method,
  ...(c.selection !== null ? { selection: c.selection } : {}),
  checkSample: c.evaluation.spearmanSample,
  // the normalized seed defaults to the cell's; it draws nothing without a sample
  checkSeed: c.evaluation.spearmanSample > 0 ? c.evaluation.spearmanSeed : 0,
});

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
