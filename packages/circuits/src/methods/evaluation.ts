import type { InputError, RuntimeError } from "@patchbay/core/errors";
import { mulberry32 } from "@patchbay/core/model";
import { Effect } from "effect";
import {
  faithfulness,
  faithfulnessPerExample,
  MIB_FRACTIONS,
  type MibAreas,
  mibAreas,
  spearman,
  summary,
  type Summary,
} from "../evaluate/index.ts";
import { circuitAtFraction, prune } from "../select/index.ts";
import type { EdgeScores } from "./attribution.ts";
import { exactScores } from "./exact.ts";
import { evaluateMasks, maskFromEdges } from "./masks.ts";
import type { EdgeSetup } from "./setup.ts";

/**
 * Circuits evaluated by the edge-masked graph, all in one batched run with the full model and the
 * empty graph: f(C) = (m(C) − m(∅)) / (m(M) − m(∅)) on means (MIB), plus the spread of the
 * per-example f (Miller et al. 2024: means hide swings above 100% and far below).
 */
export interface CircuitEvaluation {
  readonly edges: number;
  readonly metric: number;
  readonly faithfulness: number;
  readonly perExample: Summary;
}

export interface Evaluations {
  readonly full: number;
  readonly empty: number;
  readonly circuits: readonly CircuitEvaluation[];
  readonly runs: number;
}

const count = (inGraph: Uint8Array) => inGraph.reduce((a, b) => a + b, 0);

/**
 * The metric and faithfulness of each circuit (one byte per layout edge), all in one batched run: `{ full, empty, circuits: [{ edges, metric, faithfulness, perExample }], runs }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { evaluateCircuits, prepareEdges } from "@patchbay/circuits";
 * import { makeSessionCache } from "@patchbay/core/runtime";
 * import { inductionCircuit, inductionModel, inductionTask } from "@patchbay/zoo";
 * import { Effect } from "effect";
 *
 * const model = inductionModel({ attnLogit: 4 }); // the compiled induction model: 81 edges
 * const task = { ...inductionTask(1, 4, { blockLen: 8 }), ablation: "resample", metric: "logit-diff" } as const;
 * const r = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.gen(function* () {
 *       const setup = yield* prepareEdges(yield* makeSessionCache("doc", { threads: 1 }), model, task);
 *       const truth = new Set(inductionCircuit({ ablation: "resample" }));
 *       const inGraph = Uint8Array.from(setup.layout.edges, (e) => (truth.has(e.name) ? 1 : 0));
 *       return yield* evaluateCircuits(setup, [inGraph]);
 *     }),
 *   ),
 * );
 * assert.ok(r.circuits[0]!.faithfulness > 0.9); // the ground-truth circuit recovers the model
 * ```
 */
export const evaluateCircuits = (
  setup: EdgeSetup,
  circuits: readonly Uint8Array[],
): Effect.Effect<Evaluations, InputError | RuntimeError> =>
  Effect.gen(function* () {
    const { layout, N } = setup;
    const E = layout.edges.length;
    const masks = [new Uint8Array(E).fill(1), new Uint8Array(E), ...circuits].map((c) =>
      maskFromEdges(setup, c),
    );
    const r = yield* evaluateMasks(setup, masks);
    const row = (i: number) => r.perExample.subarray(i * N, (i + 1) * N);
    const full = r.mean[0]!;
    const empty = r.mean[1]!;
    return {
      full,
      empty,
      runs: r.runs,
      circuits: circuits.map((c, i) => ({
        edges: count(c),
        metric: r.mean[i + 2]!,
        faithfulness: faithfulness(r.mean[i + 2]!, empty, full),
        perExample: summary(faithfulnessPerExample(row(i + 2), row(1), row(0))),
      })),
    };
  });

export interface Curve {
  readonly fractions: readonly number[];
  readonly edges: readonly number[];
  readonly faithfulness: readonly number[];
  readonly areas: MibAreas;
}

/**
 * f over circuits of growing size (MIB: top ⌊fraction·E⌋ edges, pruned), and the area under it:
 * CPR from signed scores (absolute false), CMD from |scores| (absolute true).
 *
 * Returns `{ fractions, edges, faithfulness, areas }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { eap, faithfulnessCurve, prepareEdges } from "@patchbay/circuits";
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
 *       return yield* faithfulnessCurve(setup, (yield* eap(setup)).scores, { absolute: true, fractions: [0.1, 0.5, 1] });
 *     }),
 *   ),
 * );
 * assert.deepEqual(r.fractions, [0.1, 0.5, 1]);
 * assert.ok(Math.abs(r.faithfulness[2]! - 1) < 1e-6); // the full graph is the model
 * ```
 */
export const faithfulnessCurve = (
  setup: EdgeSetup,
  scores: ArrayLike<number>,
  opts: { readonly absolute: boolean; readonly fractions?: readonly number[] },
): Effect.Effect<Curve, InputError | RuntimeError> =>
  Effect.gen(function* () {
    const fractions = opts.fractions ?? MIB_FRACTIONS;
    const s = Float64Array.from(scores);
    const circuits = fractions.map((x) =>
      prune(
        setup.layout,
        circuitAtFraction(setup.layout, s, x, { absolute: opts.absolute, rounding: "floor" }).inGraph,
      ),
    );
    const ev = yield* evaluateCircuits(setup, circuits);
    const f = ev.circuits.map((c) => c.faithfulness);
    return {
      fractions,
      edges: ev.circuits.map((c) => c.edges),
      faithfulness: f,
      areas: mibAreas(f, fractions),
    };
  });

/**
 * CPR (signed-score circuits) and CMD (|score| circuits), as MIB reports them.
 *
 * Returns `{ cpr, cmd, signed, absolute }` (the two curves).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { eap, mibScores, prepareEdges } from "@patchbay/circuits";
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
 *       return yield* mibScores(setup, (yield* eap(setup)).scores);
 *     }),
 *   ),
 * );
 * assert.ok(Number.isFinite(r.cpr) && Number.isFinite(r.cmd));
 * assert.equal(r.signed.fractions.length, r.absolute.fractions.length);
 * ```
 */
export const mibScores = (setup: EdgeSetup, scores: ArrayLike<number>) =>
  Effect.gen(function* () {
    const signed = yield* faithfulnessCurve(setup, scores, { absolute: false });
    const absolute = yield* faithfulnessCurve(setup, scores, { absolute: true });
    return { cpr: signed.areas.cpr, cmd: absolute.areas.cmd, signed, absolute };
  });

/**
 * A seeded sample of k distinct edge indices (all of them when k ≥ E), sorted.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sampleEdges } from "@patchbay/circuits";
 *
 * const s = sampleEdges(81, 5, 0);
 * assert.equal(new Set(s).size, 5);
 * assert.deepEqual(s, [...s].sort((a, b) => a - b));
 * assert.deepEqual(sampleEdges(81, 5, 0), s); // seeded
 * assert.equal(sampleEdges(3, 5, 0).length, 3);
 * ```
 */
export const sampleEdges = (E: number, k: number, seed: number): number[] => {
  const idx = Array.from({ length: E }, (_, i) => i);
  if (k >= E) return idx;
  const rand = mulberry32(seed);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rand() * (E - i));
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  return idx.slice(0, k).sort((a, b) => a - b);
};

/**
 * What every discovery reports beside its scores: Spearman against exact patching on a seeded
 * sample of edges, and the per-example faithfulness spread of its top-n circuit.
 */
export interface AttributionCheck {
  readonly sampled: readonly number[];
  readonly spearman: number;
  readonly circuit: CircuitEvaluation;
  readonly full: number;
  readonly empty: number;
}

/**
 * Checks a method's scores: Spearman against exact patching on a seeded sample of edges, and the per-example faithfulness of its top-n circuit. Returns `{ sampled, spearman, circuit, full, empty }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkAttribution, eap, prepareEdges } from "@patchbay/circuits";
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
 *       return yield* checkAttribution(setup, yield* eap(setup), { sample: 16 });
 *     }),
 *   ),
 * );
 * assert.equal(r.sampled.length, 16);
 * assert.ok(r.spearman > 0);
 * ```
 */
export const checkAttribution = (
  setup: EdgeSetup,
  result: EdgeScores,
  opts: {
    readonly sample?: number;
    readonly seed?: number;
    readonly topN?: number;
    /** exact patching scores already known (the exact method's own): no runs for them */
    readonly exact?: ArrayLike<number>;
  } = {},
): Effect.Effect<AttributionCheck, InputError | RuntimeError> =>
  Effect.gen(function* () {
    const E = setup.layout.edges.length;
    const sampled = sampleEdges(E, opts.sample ?? 64, opts.seed ?? 0);
    const exact = opts.exact ?? (yield* exactScores(setup, sampled)).scores;
    const rho = spearman(
      sampled.map((i) => result.scores[i]!),
      sampled.map((i) => exact[i]!),
    );
    const n = Math.min(E, opts.topN ?? Math.max(1, Math.round(0.05 * E)));
    const circuit = prune(
      setup.layout,
      circuitAtFraction(setup.layout, result.scores, n / E, { absolute: true }).inGraph,
    );
    const ev = yield* evaluateCircuits(setup, [circuit]);
    return { sampled, spearman: rho, circuit: ev.circuits[0]!, full: ev.full, empty: ev.empty };
  });
