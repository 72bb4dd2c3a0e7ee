import type { EdgeLayout } from "@patchbay/core/edges";
import { type ConfigError, InputError, type RuntimeError } from "@patchbay/core/errors";
import { EDGE_ATTRIBUTION_SESSIONS, EXACT_PATCHING_SESSIONS } from "@patchbay/core/patching";
import { Effect, Schema } from "effect";
import { rocAuc } from "../evaluate/index.ts";
import { byThreshold, greedy, prune, topN } from "../select/index.ts";
import { acdc } from "./acdc.ts";
import type { MaskRows } from "./acdc-rows.ts";
import { eap, eapIgActivations, type EdgeScores } from "./attribution.ts";
import { eapIgInputs } from "./eap-ig-inputs.ts";
import {
  type AttributionCheck,
  type CircuitEvaluation,
  checkAttribution,
  evaluateCircuits,
} from "./evaluation.ts";
import { exactScores } from "./exact.ts";
import { ACDC_ORDERS } from "./names.ts";
import { acdcSeedProblem, discoveryProblem } from "./options.ts";
import type { EdgeSetup } from "./setup.ts";
import { scoreSharded, type ShardStore } from "./shards.ts";

/**
 * One discovery run as data: method and parameters, how a circuit is selected from the scores,
 * and the checks reported with it. The same spec drives the API, the CLI and experiment files.
 */
export const Selection = Schema.Union(
  Schema.TaggedStruct("top-n", {
    n: Schema.Int.pipe(Schema.positive()),
    absolute: Schema.optionalWith(Schema.Boolean, { default: () => true }),
  }),
  Schema.TaggedStruct("threshold", {
    tau: Schema.Number,
    absolute: Schema.optionalWith(Schema.Boolean, { default: () => true }),
  }),
  Schema.TaggedStruct("greedy", {
    n: Schema.Int.pipe(Schema.positive()),
    absolute: Schema.optionalWith(Schema.Boolean, { default: () => true }),
  }),
  /** The smallest top-n circuit (pruned) whose faithfulness reaches `target`. */
  Schema.TaggedStruct("faithful", {
    target: Schema.Number,
    absolute: Schema.optionalWith(Schema.Boolean, { default: () => true }),
  }),
  /**
   * Exactly these edges, by name, not pruned: a circuit written by hand or exported from the
   * explorer (`patchbay serve`), evaluated as given while the method still scores every edge.
   */
  Schema.TaggedStruct("edges", { edges: Schema.Array(Schema.String) }),
);
export type Selection = typeof Selection.Type;

export const Method = Schema.Union(
  Schema.TaggedStruct("eap", {
    /** floats one run may hold (default 1 GiB worth); any budget gives the same scores, bit for bit */
    maxFloats: Schema.optional(
      Schema.Int.pipe(Schema.positive()).annotations({
        description:
          "floats one EAP run of examples may hold beyond the model (4 bytes each; default 268435456, 1 GiB); smaller means more, smaller runs and the same scores bit for bit; below one example it is refused",
      }),
    ),
  }),
  Schema.TaggedStruct("eap-ig-inputs", {
    steps: Schema.optionalWith(Schema.Int.pipe(Schema.positive()), { default: () => 5 }),
    /** floats one run may hold (default 6 GiB worth); any budget gives the same scores */
    maxFloats: Schema.optional(
      Schema.Int.pipe(Schema.positive()).annotations({
        description:
          "floats one run of (step, example) rows may hold (4 bytes each; default 1610612736, 6 GiB); smaller means more, smaller runs and the same scores; below one row it is refused",
      }),
    ),
  }),
  Schema.TaggedStruct("eap-ig-activations", {
    steps: Schema.optionalWith(Schema.Int.pipe(Schema.positive()), { default: () => 5 }),
  }),
  Schema.TaggedStruct("exact", {
    /**
     * Score the edges in this many shards (contiguous edge ranges, shards.ts), each stored as it
     * finishes; a distributed run computes them on the queue's workers. Absent: one run over all edges.
     */
    shards: Schema.optional(Schema.Int.pipe(Schema.positive())),
  }),
  Schema.TaggedStruct("acdc", {
    tau: Schema.Number,
    order: Schema.optionalWith(Schema.Literal(...ACDC_ORDERS), {
      default: () => "normal" as const,
    }),
    /** shuffles the parents with order random; any other value with another order is refused */
    seed: Schema.optionalWith(Schema.Int, { default: () => 0 }),
    absolute: Schema.optionalWith(Schema.Boolean, { default: () => false }),
    /**
     * Evaluate each speculative batch in this many parts (acdc.ts `split`): a distributed run
     * (`--redis`, `--workers`) sends the parts to different workers at once. Absent: one part.
     */
    split: Schema.optional(Schema.Int.pipe(Schema.positive())),
  }).pipe(
    Schema.filter((m) => {
      const p = acdcSeedProblem(m);
      return p === null || { path: ["seed"], message: p.expected };
    }),
  ),
);
export type Method = typeof Method.Type;

export const Discovery = Schema.Struct({
  method: Method,
  /**
   * How the circuit is chosen from scores. Default: top 5% by |score|. ACDC decides its circuit
   * itself, so a selection with it is refused.
   */
  selection: Schema.optional(Selection),
  /**
   * Every method: Spearman of its scores against exact patching on this many sampled edges, and
   * the per-example spread of its top-5% circuit (0: skip). Exact patching checks against its own
   * scores (ρ = 1 by construction, no extra runs); ACDC's are the Δ it measured against its shrinking
   * graph, so ρ says how far they are from single-edge effects on the full model.
   */
  checkSample: Schema.optionalWith(Schema.Int.pipe(Schema.nonNegative()), { default: () => 64 }),
  /** Seed of that sample; a non-zero seed with checkSample 0 is refused. */
  checkSeed: Schema.optionalWith(Schema.Int, { default: () => 0 }),
});
export type Discovery = typeof Discovery.Type;

export interface Discovered {
  readonly method: string;
  /**
   * [E] per-edge scores in loss units (positive: ablating hurts), finite for every edge; ACDC: the
   * Δ it measured (0 for edges into receivers already cut off from the logits, see acdc.ts)
   */
  readonly scores: Float64Array;
  /** [E] the selected circuit, pruned */
  readonly inGraph: Uint8Array;
  readonly evaluation: CircuitEvaluation;
  readonly full: number;
  readonly empty: number;
  /** rank agreement with exact patching on a sample (null when checkSample is 0) */
  readonly check: AttributionCheck | null;
  readonly runs: number;
  readonly seconds: number;
}

/**
 * The smallest top-n circuit with f ≥ target: every n when E ≤ 256, else a geometric grid of
 * sizes, all evaluated in one batched run; the full graph when no smaller one reaches it.
 */
const smallestFaithful = (setup: EdgeSetup, scores: Float64Array, target: number, absolute: boolean) =>
  Effect.gen(function* () {
    const { layout } = setup;
    const E = layout.edges.length;
    const sizes =
      E <= 256
        ? Array.from({ length: E }, (_, i) => i + 1)
        : [...new Set(Array.from({ length: 48 }, (_, i) => Math.max(1, Math.round(E ** ((i + 1) / 48)))))];
    const circuits = sizes.map((n) => prune(layout, topN(layout, scores, n, { absolute }).inGraph));
    const ev = yield* evaluateCircuits(setup, circuits);
    const k = ev.circuits.findIndex((c) => c.faithfulness >= target);
    return k >= 0 ? circuits[k]! : new Uint8Array(E).fill(1);
  });

/** One byte per layout edge for a list of edge names; a name not in the layout is an InputError. */
const namedCircuit = (layout: EdgeLayout, names: readonly string[]) =>
  Effect.gen(function* () {
    const index = new Map(layout.edges.map((e) => [e.name, e.index]));
    const inGraph = new Uint8Array(layout.edges.length);
    for (const [i, n] of names.entries()) {
      const e = index.get(n);
      if (e === undefined)
        return yield* new InputError({
          field: `selection.edges[${i}]`,
          expected: `an edge of the model's ${layout.granularity}-granularity layout (e.g. ${layout.edges[0]?.name ?? "none"})`,
          found: JSON.stringify(n),
        });
      inGraph[e] = 1;
    }
    return inGraph;
  });

const select = (
  layout: EdgeLayout,
  scores: Float64Array,
  s: Exclude<Selection, { _tag: "faithful" } | { _tag: "edges" }> | undefined,
): Uint8Array => {
  const E = layout.edges.length;
  const sel = s ?? { _tag: "top-n" as const, n: Math.max(1, Math.round(0.05 * E)), absolute: true };
  switch (sel._tag) {
    case "top-n":
      return prune(layout, topN(layout, scores, Math.min(E, sel.n), sel).inGraph);
    case "threshold":
      return prune(layout, byThreshold(layout, scores, sel.tau, sel).inGraph);
    case "greedy":
      return prune(layout, greedy(layout, scores, Math.min(E, sel.n), sel).inGraph);
  }
};

/**
 * Runs one discovery method, selects its circuit and evaluates it: `{ method, scores, inGraph, evaluation, full, empty, check, runs, seconds }`.
 * The scoring method's sessions (the fused attribution graph, exact patching's block graphs) are
 * released from the setup's cache once they are done with, before the circuit is evaluated on the
 * edge-masked graph, so the two are never held at once (a later discover builds them again).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { discover, edgeNames, prepareEdges } from "@patchbay/circuits";
 * import { makeSessionCache } from "@patchbay/core/runtime";
 * import { inductionModel, inductionTask } from "@patchbay/zoo";
 * import { Effect } from "effect";
 *
 * const model = inductionModel({ attnLogit: 4 }); // the compiled induction model: 81 edges
 * const task = { ...inductionTask(1, 4, { blockLen: 8 }), ablation: "resample", metric: "logit-diff" } as const;
 * const r = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.gen(function* () {
 *       const setup = yield* prepareEdges(yield* makeSessionCache("doc", { threads: 1 }), model, task);
 *       const d = yield* discover(setup, { method: { _tag: "eap" }, selection: { _tag: "top-n", n: 5, absolute: true }, checkSample: 0, checkSeed: 0 });
 *       return edgeNames({ layout: setup.layout, inGraph: d.inGraph });
 *     }),
 *   ),
 * );
 * assert.ok(r.includes("a1.h2->logits"));
 * ```
 */
export const discover = <E = never>(
  setup: EdgeSetup,
  spec: Discovery,
  run: {
    /** Where ACDC keeps its checkpoint (resumed from when it exists); other methods take none. */
    readonly checkpoint?: string;
    /** Where exact patching with `shards` keeps its shards (default: computed in turn, kept nowhere). */
    readonly shards?: ShardStore<E>;
    /** Where ACDC with `split` evaluates its batches' parts (a queue's or threads' workers; default: here). */
    readonly acdcRows?: MaskRows<E>;
  } = {},
): Effect.Effect<Discovered, InputError | RuntimeError | ConfigError | E> =>
  Effect.gen(function* () {
    const t0 = performance.now();
    const m = spec.method;
    const problem = discoveryProblem(spec, setup.task.ablation);
    if (problem !== null) return yield* problem;
    if (run.shards !== undefined && !(m._tag === "exact" && m.shards !== undefined))
      return yield* new InputError({
        field: "shards",
        expected: "a shard store only for method exact with shards",
        found: `method ${m._tag}`,
      });
    if (run.acdcRows !== undefined && !(m._tag === "acdc" && m.split !== undefined))
      return yield* new InputError({
        field: "acdcRows",
        expected: "workers for ACDC's batches only for method acdc with split",
        found: `method ${m._tag}`,
      });
    if (run.checkpoint !== undefined && m._tag !== "acdc")
      return yield* new InputError({
        field: "checkpoint",
        expected: "a checkpoint only for method acdc",
        found: `method ${m._tag}`,
      });
    let scored: EdgeScores | null = null;
    let inGraph: Uint8Array;
    let runs = 0;
    if (m._tag === "acdc") {
      const r = yield* acdc(
        setup,
        { ...m, ...(run.checkpoint === undefined ? {} : { checkpoint: run.checkpoint }) },
        run.acdcRows,
      );
      inGraph = r.inGraph;
      runs = r.runs;
      scored = {
        method: `acdc(τ=${m.tau}, ${m.order}${m.split === undefined ? "" : `, split ${m.split}`})`,
        scores: r.deltas,
        runs: r.runs,
        rows: r.forwardPasses,
      };
    } else {
      scored =
        m._tag === "eap"
          ? yield* eap(setup, m)
          : m._tag === "eap-ig-inputs"
            ? yield* eapIgInputs(setup, m)
            : m._tag === "eap-ig-activations"
              ? yield* eapIgActivations(setup, m)
              : m.shards === undefined
                ? yield* exactScores(setup)
                : yield* exactSharded(setup, m.shards, run.shards);
      yield* setup.cache.evict(EDGE_ATTRIBUTION_SESSIONS);
      const sel = spec.selection;
      inGraph =
        sel?._tag === "faithful"
          ? yield* smallestFaithful(setup, scored.scores, sel.target, sel.absolute)
          : sel?._tag === "edges"
            ? yield* namedCircuit(setup.layout, sel.edges)
            : select(setup.layout, scored.scores, sel);
      runs = scored.runs;
    }
    const check =
      spec.checkSample > 0
        ? yield* checkAttribution(setup, scored, {
            sample: spec.checkSample,
            seed: spec.checkSeed,
            ...(m._tag === "exact" ? { exact: scored.scores } : {}),
          })
        : null;
    yield* setup.cache.evict(EXACT_PATCHING_SESSIONS);
    const ev = yield* evaluateCircuits(setup, [inGraph]);
    return {
      method: scored.method,
      scores: scored.scores,
      inGraph,
      evaluation: ev.circuits[0]!,
      full: ev.full,
      empty: ev.empty,
      check,
      runs,
      seconds: (performance.now() - t0) / 1000,
    };
  });

/** Exact patching in `of` shards: the same scores record as exactScores gives. */
const exactSharded = <E>(setup: EdgeSetup, of: number, store: ShardStore<E> | undefined) =>
  Effect.map(
    scoreSharded(setup, { _tag: "exact" }, of, store),
    (r): EdgeScores => ({
      method: "exact",
      scores: r.scores,
      runs: r.runs,
      rows: (setup.layout.edges.length + of) * setup.N,
    }),
  );

/** A circuit against a ground-truth edge set: counts, precision, recall and ROC AUC of |scores|. */
export interface TruthComparison {
  readonly truth: number;
  readonly found: number;
  readonly correct: number;
  readonly precision: number;
  readonly recall: number;
  readonly auc: number;
  readonly missing: readonly string[];
  readonly extra: readonly string[];
}

/**
 * A found circuit against a ground-truth edge set: `{ truth, found, correct, precision, recall, auc, missing, extra }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compareToTruth } from "@patchbay/circuits";
 * import { edgeLayout } from "@patchbay/core/edges";
 * import { inductionCircuit, inductionModel } from "@patchbay/zoo";
 *
 * const layout = edgeLayout(inductionModel().config);
 * const truth = inductionCircuit({ ablation: "resample" }); // five edges
 * const found = Uint8Array.from(layout.edges, (e) => (e.name === "a1.h2->logits" ? 1 : 0));
 * const scores = Float64Array.from(layout.edges, (e) => (truth.includes(e.name) ? 1 : 0));
 * const c = compareToTruth(layout, found, scores, truth);
 * assert.equal(c.precision, 1);
 * assert.equal(c.recall, 1 / 5);
 * assert.equal(c.auc, 1);
 * ```
 */
export const compareToTruth = (
  layout: EdgeLayout,
  inGraph: Uint8Array,
  scores: ArrayLike<number>,
  truthNames: readonly string[],
): TruthComparison => {
  const names = new Set(truthNames);
  const truth = new Uint8Array(layout.edges.map((e) => (names.has(e.name) ? 1 : 0)));
  const unknown = truthNames.filter((n) => !layout.edges.some((e) => e.name === n));
  if (unknown.length > 0)
    throw new InputError({
      field: "ground truth edges",
      expected: `edges of the ${layout.granularity} layout (names as in MIB JSON, e.g. a0.h1->a1.h2<k>)`,
      found: `${unknown.length} unknown: ${unknown.slice(0, 5).join(", ")}${unknown.length > 5 ? ", …" : ""}`,
    });
  let correct = 0;
  let found = 0;
  const missing: string[] = [];
  const extra: string[] = [];
  layout.edges.forEach((e, i) => {
    if (inGraph[i]) found++;
    if (inGraph[i] && truth[i]) correct++;
    if (truth[i] && !inGraph[i]) missing.push(e.name);
    if (inGraph[i] && !truth[i]) extra.push(e.name);
  });
  const key = Float64Array.from(scores, (s) => (Number.isNaN(s) ? Number.NEGATIVE_INFINITY : Math.abs(s)));
  return {
    truth: names.size,
    found,
    correct,
    precision: found === 0 ? Number.NaN : correct / found,
    recall: names.size === 0 ? Number.NaN : correct / names.size,
    auc: rocAuc(key, truth),
    missing,
    extra,
  };
};
