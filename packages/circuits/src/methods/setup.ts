import {
  ablatedSources,
  type CompactSources,
  compactAblated,
  type EdgeAblation,
} from "@patchbay/core/patching";
import { type EdgeLayout, edgeLayout, type Granularity } from "@patchbay/core/edges";
import type { HostTensor } from "@patchbay/core/tensor";
import { InputError, type RuntimeError } from "@patchbay/core/errors";
import { type MetricBinding, type MetricKind, plan, runPlan } from "@patchbay/core/engine";
import type { Model } from "@patchbay/core/model";
import type { SessionCache } from "@patchbay/core/runtime";
import { Effect } from "effect";

/**
 * The reference dataset a mean / mean-positional ablation averages over when a task gives none: the
 * task's own clean and corrupted prompts (what the CLI, the Promise API and experiment files use).
 * Other ablations take no reference: `{}`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { taskReference } from "@patchbay/circuits";
 *
 * const task = { clean: [[1, 2, 3]], corrupted: [[1, 4, 3]] };
 * assert.deepEqual(taskReference(task, "mean"), { reference: [[1, 2, 3], [1, 4, 3]] });
 * assert.deepEqual(taskReference(task, "resample"), {});
 * ```
 */
export const taskReference = (
  task: {
    readonly clean: readonly (readonly number[])[];
    readonly corrupted: readonly (readonly number[])[];
  },
  ablation: EdgeAblation,
): { readonly reference?: readonly (readonly number[])[] } =>
  ablation.startsWith("mean") ? { reference: [...task.clean, ...task.corrupted] } : {};

/**
 * A circuit-discovery task: clean inputs, what ablated edges carry instead (the ablation and its
 * data), and the metric. Clean and corrupted examples are paired by index.
 */
export interface EdgeTask {
  readonly clean: readonly (readonly number[])[];
  /** resample (and EAP-IG over inputs): one corrupted sequence per clean one, of the same length. */
  readonly corrupted?: readonly (readonly number[])[];
  /** mean, mean-positional: the reference dataset. */
  readonly reference?: readonly (readonly number[])[];
  readonly ablation: EdgeAblation;
  readonly metric: MetricKind;
  /** Per example: the metric positions, and answer (and wrong) ids at those positions. */
  readonly positions: readonly (readonly number[])[];
  readonly answers?: readonly (readonly number[])[];
  readonly wrong?: readonly (readonly number[])[];
}

/** Everything a method needs, computed once: the layout, z′ and the metric's bindings. */
export interface EdgeSetup {
  readonly cache: SessionCache;
  readonly model: Model;
  readonly layout: EdgeLayout;
  readonly task: EdgeTask;
  /**
   * z′ in compact form (heads as attn.z), for the fused attribution graph. A resample ablation's
   * is computed on first use (one capture run of the corrupted examples): EAP computes its z′
   * inside the fused graph instead and never asks.
   */
  readonly compact: Effect.Effect<CompactSources, InputError | RuntimeError>;
  /** z′ [N, P, S, d] for the edge-masked graph, computed on first use (one capture run). */
  readonly ablated: Effect.Effect<HostTensor, InputError | RuntimeError>;
  /** The metric's bindings for the N clean examples (KL: the full model's logits as reference). */
  readonly binding: MetricBinding;
  readonly N: number;
  readonly P: number;
}

/**
 * Whether a larger metric value means a better (more faithful to the task) run.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { higherIsBetter } from "@patchbay/circuits";
 *
 * assert.equal(higherIsBetter("logit-diff"), true);
 * assert.equal(higherIsBetter("kl"), false);
 * ```
 */
export const higherIsBetter = (m: MetricKind): boolean => m !== "kl" && m !== "cross-entropy";

/**
 * Everything a discovery method needs, computed once for a task: the edge layout, the ablated source outputs z′ and the metric's bindings. Returns an EdgeSetup `{ layout, task, N, P, … }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { prepareEdges } from "@patchbay/circuits";
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
 *       return { edges: setup.layout.edges.length, N: setup.N };
 *     }),
 *   ),
 * );
 * assert.deepEqual(r, { edges: 81, N: 4 });
 * ```
 */
export const prepareEdges = (
  cache: SessionCache,
  model: Model,
  task: EdgeTask,
  granularity: Granularity = "head",
): Effect.Effect<EdgeSetup, InputError | RuntimeError> =>
  Effect.gen(function* () {
    const N = task.clean.length;
    if (N === 0)
      return yield* new InputError({ field: "clean", expected: "at least one example", found: "none" });
    if (task.positions.length !== N)
      return yield* new InputError({
        field: "positions",
        expected: `one position list per clean example (${N})`,
        found: `${task.positions.length}`,
      });
    const P = Math.max(...task.clean.map((s) => s.length));
    const layout = edgeLayout(model.config, granularity);
    const data = {
      ...(task.corrupted !== undefined ? { corrupted: task.corrupted } : {}),
      ...(task.reference !== undefined ? { reference: task.reference } : {}),
    };
    const z = compactAblated(cache, model, layout, task.ablation, task.clean, data);
    const compact = task.ablation === "resample" ? yield* Effect.cached(z) : Effect.succeed(yield* z);
    const ablated = yield* Effect.cached(
      ablatedSources(cache, model, layout, task.ablation, task.clean, data),
    );
    let binding: MetricBinding = {
      positions: task.positions,
      answers: task.answers ?? task.positions.map((p) => p.map(() => 0)),
      ...(task.wrong !== undefined ? { wrong: task.wrong } : {}),
    };
    if (task.metric === "kl") binding = { ...binding, reference: yield* referenceLogits(cache, model, task) };
    return { cache, model, layout, task, compact, ablated, binding, N, P };
  });

/** The full model's logits at each example's metric positions: [N, n, V] (n = most positions). */
const referenceLogits = (cache: SessionCache, model: Model, task: EdgeTask) =>
  Effect.gen(function* () {
    const r = yield* runPlan(cache, model, plan(), task.clean);
    const logits = r.logits!; //                                                    [N, P, V]
    const [N, P, V] = logits.shape as [number, number, number];
    const n = Math.max(1, ...task.positions.map((p) => p.length));
    const out = new Float32Array(N * n * V);
    task.positions.forEach((ps, b) => {
      ps.forEach((p, j) => {
        if (p >= 0 && p < P)
          out.set(logits.data.subarray((b * P + p) * V, (b * P + p + 1) * V), (b * n + j) * V);
      });
    });
    return { data: out, shape: [N, n, V] };
  });
