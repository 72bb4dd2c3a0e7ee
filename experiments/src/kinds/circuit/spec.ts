import { type Discovery, discoveryProblem, Method, Selection } from "@patchbay/circuits";
import { EdgeAblation } from "@patchbay/core/patching";
import { GRANULARITIES, type Granularity } from "@patchbay/core/edges";
import { MetricKind } from "@patchbay/core/engine";
import { isBuiltinPath } from "@patchbay/zoo";
import { Schema } from "effect";
import { limitNote } from "../../spec/limits.ts";
import { Int, NonNegativeInt, Outputs, PositiveInt, Runtime, Sweep } from "../../spec/schema.ts";

/**
 * Circuit-discovery experiments (`kind: circuit`, the default): one discovery (model, task,
 * method, ablation, metric, granularity, selection, evaluation), or a sweep of them.
 */

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

/** The fields of one cell (everything a discovery depends on). */
const cellFields = {
  kind: Schema.optional(Schema.Literal("circuit")).annotations({
    description:
      "circuit (the default), causal (causal abstraction: see the causal experiment form) or readout (lenses, attribution, probes, steering, neurons, SAEs: see the readout experiment form)",
  }),
  model: Schema.String.annotations({
    description:
      "a model folder or file (relative to the experiment file), builtin:<name>[?options], or hf:owner/name[@revision] (the Hugging Face Hub)",
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

export interface CircuitCellSpec {
  /** never set: circuit is the default kind, left out of the spec so circuit cell ids stay as they were */
  readonly kind?: "circuit";
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

/**
 * The discovery spec of a cell, as circuits' `discover` takes it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { Effect } from "effect";
 * import { decodeExperiment, discoveryOf, expandCells } from "@patchbay/experiments";
 * const dir = mkdtempSync(join(tmpdir(), "exp-"));
 * const raw = { name: "c", model: "builtin:induction", task: { n: 4 }, ablation: "resample", metric: "logit-diff", method: { _tag: "eap" } };
 * const loaded = await Effect.runPromise(decodeExperiment(raw, join(dir, "c.yaml")));
 * const [cell] = await Effect.runPromise(expandCells(loaded));
 * const d = discoveryOf(cell!.spec as Parameters<typeof discoveryOf>[0]);
 * assert.deepEqual(d.method, { _tag: "eap" });
 * ```
 */
export const discoveryOf = (c: CircuitCellSpec): Discovery => ({
  method: c.method,
  ...(c.selection !== null ? { selection: c.selection } : {}),
  checkSample: c.evaluation.spearmanSample,
  // the normalized seed defaults to the cell's; it draws nothing without a sample
  checkSeed: c.evaluation.spearmanSample > 0 ? c.evaluation.spearmanSeed : 0,
});

/** A circuit cell's spec; `kind: circuit` is the default and is not part of the spec (ids unchanged). */
export const normalizeCircuit = (c: typeof CellFields.Type): CircuitCellSpec => ({
  model: c.model,
  task:
    "file" in c.task
      ? { kind: "file", file: c.task.file }
      : {
          kind: "builtin",
          builtin: c.task.builtin ?? c.model,
          n: c.task.n,
          seed: c.task.seed ?? c.seed,
          options: c.task.options,
        },
  method: c.method,
  ablation: c.ablation,
  metric: c.metric,
  granularity: c.granularity,
  selection: c.selection ?? null,
  evaluation: {
    curve: c.evaluation.curve,
    spearmanSample: c.evaluation.spearmanSample,
    spearmanSeed: c.evaluation.spearmanSeed ?? c.seed,
    truth: c.evaluation.truth,
  },
  runtime: { threads: c.runtime.threads },
  seed: c.seed,
});
