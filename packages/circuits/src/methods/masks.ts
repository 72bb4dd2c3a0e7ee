import {
  type GradTarget,
  type MetricBinding,
  type Plan,
  type PlanResult,
  runPlan,
} from "@patchbay/core/engine";
import type { HostTensor } from "@patchbay/core/tensor";
import type { InputError, RuntimeError } from "@patchbay/core/errors";
import { kvSlots } from "@patchbay/core/edges";
import { Effect } from "effect";
import type { EdgeSetup } from "./setup.ts";

/**
 * Many circuits in few runs. A circuit is a mask m [S·D] over the layout (1 keeps an edge); M
 * masks over N examples become M·N rows of one compiled graph (row r = mask ⌊r/N⌋ on example
 * r mod N), run in chunks whose working set stays under a float budget.
 */
export interface MaskRun {
  /** mean over the N examples, per mask [M] */
  readonly mean: Float64Array;
  /** per mask and example [M·N] */
  readonly perExample: Float32Array;
  /** session runs and rows (example forward passes) used */
  readonly runs: number;
  readonly rows: number;
}

/** Floats a run may hold (6 GiB): z′ plus the per-destination activations of forward and backward. */
export const DEFAULT_MAX_FLOATS = 1536 * 1024 * 1024;

export const edgePlan = (setup: EdgeSetup, gradients: readonly GradTarget[] = []): Plan => ({
  captures: [],
  interventions: [],
  metric: { kind: setup.task.metric },
  gradients,
  edges: { granularity: setup.layout.granularity },
  logits: false,
});

/** Rows rowsOf[k] (each an example index) tiled into one batch: sequences and metric bindings. */
export const tileRows = (setup: EdgeSetup, rowsOf: readonly number[]) => {
  const { task, binding } = setup;
  const pick = <A>(xs: readonly A[] | undefined) =>
    xs === undefined ? undefined : rowsOf.map((b) => xs[b]!);
  const reference = binding.reference === undefined ? undefined : tileTensor(binding.reference, rowsOf);
  const metric: MetricBinding = {
    positions: pick(binding.positions)!,
    answers: pick(binding.answers)!,
    ...(binding.wrong !== undefined ? { wrong: pick(binding.wrong)! } : {}),
    ...(reference !== undefined ? { reference } : {}),
  };
  return { seqs: rowsOf.map((b) => task.clean[b]!), metric };
};

/** Rows rowsOf[k] of a tensor whose first axis is the example. */
export const tileTensor = (t: HostTensor, rowsOf: readonly number[]): HostTensor => {
  const per = t.data.length / t.shape[0]!;
  const out = new Float32Array(rowsOf.length * per);
  rowsOf.forEach((b, r) => {
    out.set(t.data.subarray(b * per, (b + 1) * per), r * per);
  });
  return { data: out, shape: [rowsOf.length, ...t.shape.slice(1)] };
};

/**
 * Rows per run within the budget (at least one). A row holds z′ [P, S, d] and, in the edge graph,
 * every destination's own input and norm intermediates, [P, L·(H + 2H_kv + 1), d] many times
 * over in forward and backward: ≈ 32 copies, measured on GPT-2 small (5 rows × 128 tokens of
 * forward + backward exhausted 24 GB, ≈ 5 GB a row). The fused attribution graph of EAP holds
 * a few transient copies only (`copies` = 4).
 */
export const rowsPerRun = (setup: EdgeSetup, maxFloats = DEFAULT_MAX_FLOATS, copies = 32): number => {
  const c = setup.model.config;
  const perDest = c.nLayers * (c.nHeads + 2 * kvSlots(c, setup.layout.granularity) + 1);
  const perRow = setup.P * c.dModel * (setup.layout.sources.length + copies * perDest);
  return Math.max(1, Math.floor(maxFloats / perRow));
};

/**
 * One run of the edge plan on explicit rows: `rowsOf` gives each row's example, `maskOf(r, out)`
 * writes row r's mask [S·D] into `out` (prefilled with ones).
 */
export const runRows = (
  setup: EdgeSetup,
  rowsOf: readonly number[],
  maskOf: (r: number, out: Float32Array) => void,
  gradients: readonly GradTarget[] = [],
): Effect.Effect<PlanResult, InputError | RuntimeError> =>
  Effect.gen(function* () {
    const { layout } = setup;
    const SD = layout.sources.length * layout.destinations.length;
    const tiled = tileRows(setup, rowsOf);
    const mask = new Float32Array(rowsOf.length * SD).fill(1);
    for (let r = 0; r < rowsOf.length; r++) maskOf(r, mask.subarray(r * SD, (r + 1) * SD));
    const ablated = tileTensor(yield* setup.ablated, rowsOf);
    return yield* runPlan(setup.cache, setup.model, edgePlan(setup, gradients), tiled.seqs, {
      edges: {
        mask: { data: mask, shape: [rowsOf.length, layout.sources.length, layout.destinations.length] },
        ablated,
      },
      metric: tiled.metric,
    });
  });

/**
 * The metric of M circuits, each over all N examples. `masks[i]` is [S·D] (1 = edge kept).
 *
 * Returns `{ mean, perExample, runs, … }`: per mask, the mean metric and each example's.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { evaluateMasks, maskFromEdges, prepareEdges } from "@patchbay/circuits";
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
 *       const full = maskFromEdges(setup, new Uint8Array(setup.layout.edges.length).fill(1));
 *       return yield* evaluateMasks(setup, [full]);
 *     }),
 *   ),
 * );
 * assert.equal(r.mean.length, 1);
 * assert.equal(r.perExample.length, 4); // 1 mask × 4 examples
 * ```
 */
export const evaluateMasks = (
  setup: EdgeSetup,
  masks: readonly Float32Array[],
  maxFloats = DEFAULT_MAX_FLOATS,
): Effect.Effect<MaskRun, InputError | RuntimeError> =>
  Effect.gen(function* () {
    const N = setup.N;
    const M = masks.length;
    const perExample = new Float32Array(M * N);
    const chunk = rowsPerRun(setup, maxFloats);
    let runs = 0;
    for (let start = 0; start < M * N; start += chunk) {
      const end = Math.min(M * N, start + chunk);
      const rows = Array.from({ length: end - start }, (_, r) => (start + r) % N);
      const r = yield* runRows(setup, rows, (i, out) => out.set(masks[Math.floor((start + i) / N)]!));
      perExample.set(r.metric!.perExample, start);
      runs++;
    }
    return { mean: meanPerMask(perExample, N), perExample, runs, rows: M * N };
  });

/** Each mask's mean over its N examples, from the per-example metrics [M·N] (mask-major), in float64. */
export const meanPerMask = (perExample: Float32Array, N: number): Float64Array => {
  const M = perExample.length / N;
  const mean = new Float64Array(M);
  for (let i = 0; i < M; i++) {
    let s = 0;
    for (let b = 0; b < N; b++) s += perExample[i * N + b]!;
    mean[i] = s / N;
  }
  return mean;
};

/**
 * A mask [S·D] from per-edge membership (layout edge order).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { maskFromEdges, prepareEdges } from "@patchbay/circuits";
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
 *       return maskFromEdges(setup, new Uint8Array(setup.layout.edges.length).fill(1));
 *     }),
 *   ),
 * );
 * assert.equal(r.length, 9 * 25); // S sources × D destinations
 * assert.equal(r.reduce((a, b) => a + b, 0), 81); // every edge kept
 * ```
 */
export const maskFromEdges = (setup: EdgeSetup, inGraph: ArrayLike<number>): Float32Array => {
  const { layout } = setup;
  const D = layout.destinations.length;
  const m = new Float32Array(layout.sources.length * D);
  layout.edges.forEach((e, i) => {
    m[e.source * D + e.destination] = inGraph[i]! ? 1 : 0;
  });
  return m;
};
