import { Alignment, isRotation, PositionSpec, SubspaceSpec } from "@patchbay/causal";
import { InputError } from "@patchbay/core/errors";
import { Schema } from "effect";
import { limitNote } from "../../spec/limits.ts";
import { commonFields, Runtime } from "../../spec/schema.ts";

/**
 * Causal-abstraction experiments (`kind: causal`): a causal task (high-level model + counterfactual
 * family), a network (default: the task's own), and a method — IIA of a fixed alignment, an IIA
 * sweep over (site, position), or DAS with its controls. Same file format, sweeps, seeds, store
 * and reports as circuit experiments.
 */
const Int = Schema.Int;
const PositiveInt = Schema.Int.pipe(Schema.positive());

export const CausalTaskSpec = Schema.Struct({
  builtin: Schema.String.annotations({ description: "a causal task: induction, reverse, linear-toy" }),
  options: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.Unknown }), {
    default: () => ({}),
  }).annotations({
    description:
      "task options (induction: vocabSize, blockLen; reverse: maxLen, minLen; linear-toy: dModel, values, scale, seed)",
  }),
  family: Schema.optional(Schema.String).annotations({
    description:
      "the counterfactual family (which variables move, how sources are drawn); default: the task's first",
  }),
  n: Schema.optionalWith(PositiveInt, { default: () => 128 }).annotations({
    description: `counterfactual pairs: evaluated (iia, iia-sweep) or trained on (das) (${limitNote("examples")})`,
  }),
  test: Schema.optionalWith(PositiveInt, { default: () => 64 }).annotations({
    description: `das: unseen pairs of the same family, and pairs per held-out family (${limitNote("examples")})`,
  }),
  heldOut: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }).annotations({
    description: "other families to evaluate on (held-out counterfactual families; das and iia)",
  }),
  seed: Schema.optional(Int).annotations({ description: "data seed; default: the cell's seed" }),
}).annotations({ identifier: "CausalTask", title: "causal task" });

export const Sites = Schema.Union(
  Schema.Literal("resid").annotations({
    description: "blocks.l.resid_pre for every layer, then the last resid_post",
  }),
  Schema.NonEmptyArray(Schema.String),
);

export const CausalMethod = Schema.Union(
  Schema.TaggedStruct("iia", {
    alignment: Schema.Union(
      Schema.String.annotations({
        description:
          "a named alignment of the builtin task (induction: query, queryWrongSubspace, queryWrongPosition, output; reverse: opp, length, oppWrongSubspace, lengthTooEarly)",
      }),
      Alignment,
    ),
    rotations: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.String }), {
      default: () => ({}),
    }).annotations({
      description: "rotation artifacts (from a das cell) per variable, for alignments with subspace {rank}",
    }),
  }).annotations({ title: "IIA of a fixed alignment" }),
  Schema.TaggedStruct("iia-sweep", {
    variable: Schema.String,
    sites: Schema.optionalWith(Sites, { default: () => "resid" as const }),
    positions: Schema.optionalWith(Schema.Union(Schema.Literal("all"), Schema.NonEmptyArray(PositionSpec)), {
      default: () => "all" as const,
    }).annotations({ description: '"all" (every position; prompts of equal length) or position specs' }),
    subspace: Schema.optionalWith(SubspaceSpec, { default: () => "full" as const }).annotations({
      description: '"full" or {dims} ({rank} needs a rotation, which a sweep does not take)',
    }),
    heads: Schema.optional(Schema.Array(Int)),
  })
    .annotations({ title: "IIA over (site, position), MIB aggregation" })
    .pipe(
      Schema.filter((m) =>
        isRotation(m.subspace)
          ? {
              path: ["subspace"],
              message:
                '"full" or {dims} (a {rank} subspace needs a learned rotation: evaluate it with an iia cell and its rotations)',
            }
          : true,
      ),
    ),
  Schema.TaggedStruct("das", {
    variable: Schema.String,
    site: Schema.String,
    positions: Schema.NonEmptyArray(PositionSpec),
    heads: Schema.optional(Schema.Array(Int)),
    rank: Schema.optionalWith(PositiveInt, { default: () => 1 }).annotations({
      description: "k, the subspace size (refused with boundless, which learns it)",
    }),
    parametrization: Schema.optionalWith(Schema.Literal("cayley", "householder", "expm", "retraction"), {
      default: () => "cayley" as const,
    }),
    steps: Schema.optionalWith(PositiveInt, { default: () => 200 }),
    lr: Schema.optionalWith(Schema.Number.pipe(Schema.positive()), { default: () => 1e-3 }),
    batchSize: Schema.optionalWith(PositiveInt, { default: () => 32 }),
    warmup: Schema.optionalWith(Schema.Number.pipe(Schema.between(0, 1)), { default: () => 0.1 }).annotations(
      {
        description: "fraction of steps with linear warmup",
      },
    ),
    boundless: Schema.optional(
      Schema.Struct({
        sizePenalty: Schema.optionalWith(Schema.Number.pipe(Schema.nonNegative()), { default: () => 0 }),
        lr: Schema.optionalWith(Schema.Number.pipe(Schema.positive()), { default: () => 1e-2 }),
        from: Schema.optionalWith(Schema.Number.pipe(Schema.positive()), { default: () => 50 }),
        to: Schema.optionalWith(Schema.Number.pipe(Schema.positive()), { default: () => 0.1 }),
        schedule: Schema.optionalWith(Schema.Literal("linear", "exponential"), {
          default: () => "linear" as const,
        }),
      }),
    ).annotations({ description: "Boundless DAS: a learned sigmoid boundary over the rotated coordinates" }),
    controls: Schema.optionalWith(Schema.Boolean, { default: () => true }).annotations({
      description: "random-init model, random rotation, full component, held-out families",
    }),
  })
    .annotations({ title: "distributed alignment search" })
    .pipe(
      Schema.filter((m) =>
        m.boundless !== undefined && m.rank !== 1
          ? {
              path: ["rank"],
              message: "no rank with boundless (Boundless DAS rotates every coordinate and learns the mask)",
            }
          : true,
      ),
    ),
);
export type CausalMethod = typeof CausalMethod.Type;

/**
 * Task fields the cell's method does not read: iia-sweep evaluates the main family only (no
 * held-out families, no test pairs); iia draws test pairs only for held-out families; DAS
 * evaluates held-out families only among its controls.
 */
export const causalCellProblem = (
  task: { readonly test: number; readonly heldOut: readonly string[] },
  method: CausalMethod,
): InputError | null => {
  const heldOut = (why: string) =>
    new InputError({
      field: "task.heldOut",
      expected: `no held-out families ${why}`,
      found: JSON.stringify(task.heldOut),
    });
  const test = (why: string) =>
    new InputError({ field: "task.test", expected: `no test ${why}`, found: String(task.test) });
  if (method._tag === "iia-sweep") {
    if (task.heldOut.length > 0) return heldOut("with iia-sweep (it sweeps the main family)");
    if (task.test !== 64) return test("with iia-sweep (it sweeps the main family's n pairs)");
  }
  if (method._tag === "iia" && task.heldOut.length === 0 && task.test !== 64)
    return test("with iia unless task.heldOut names families (it is their number of pairs)");
  if (method._tag === "das" && !method.controls && task.heldOut.length > 0)
    return heldOut("with das unless controls is true (they are one of its controls)");
  return null;
};

/** The normalized spec of a causal cell (what the cell id hashes and a worker receives). */
export interface CausalCellSpec {
  readonly kind: "causal";
  /** a model path or builtin; null: the causal task's own network */
  readonly model: string | null;
  readonly task: {
    readonly builtin: string;
    readonly options: Readonly<Record<string, unknown>>;
    readonly family: string | null;
    readonly n: number;
    readonly test: number;
    readonly heldOut: readonly string[];
    readonly seed: number;
  };
  readonly method: CausalMethod;
  readonly runtime: { readonly threads: number };
  readonly seed: number;
}

export const isCausalSpec = <S extends object>(s: S | CausalCellSpec): s is CausalCellSpec =>
  (s as { readonly kind?: unknown }).kind === "causal";

/** The fields of one causal cell. */
const causalCellFields = {
  kind: Schema.Literal("causal"),
  model: Schema.optional(Schema.String).annotations({
    description:
      "a model folder, builtin:<name> or hf:owner/name[@revision]; default: the causal task's own network",
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

/** A decoded causal cell as its normalized spec (the data seed resolved to the cell's). */
export const normalizeCausal = (c: typeof CausalCellFields.Type): CausalCellSpec => ({
  kind: "causal",
  model: c.model ?? null,
  task: {
    builtin: c.task.builtin,
    options: c.task.options,
    family: c.task.family ?? null,
    n: c.task.n,
    test: c.task.test,
    heldOut: c.task.heldOut,
    seed: c.task.seed ?? c.seed,
  },
  method: c.method,
  runtime: { threads: c.runtime.threads },
  seed: c.seed,
});
