import * as ort from "onnxruntime-node";
import type { Effect } from "effect";
import type { MetricBinding } from "../engine/bind.ts";
import type { MetricKind } from "../engine/spec.ts";
import { InputError, type RuntimeError } from "../errors/index.ts";
import type { ModelConfig, Weights } from "../model/index.ts";
import type { SessionCache } from "../runtime/index.ts";
import type { EdgeLayout } from "../edges/layout.ts";
import { type AttributionRun, bindCompact, runAttribution } from "./attribution.ts";
import { deltaInput, IG_ALPHA, IG_CORRUPTED_IDS } from "./attribution-steps.ts";
import type { CompactSources } from "./compact.ts";

/** One run of EAP-IG over inputs: `steps` interpolation steps of each of n examples. */
export interface IgRun {
  /** the n clean examples */
  readonly clean: readonly (readonly number[])[];
  /** their corrupted counterparts, each as long as its clean example */
  readonly corrupted: readonly (readonly number[])[];
  /** α of each step (k/K), the same for every example */
  readonly alphas: readonly number[];
  /** Δ = z(x) − z(x′) of the n examples in compact form, [n, pos, …] (pos: the longest example) */
  readonly delta: CompactSources;
  /** the metric's bindings of the n examples */
  readonly binding: MetricBinding;
  /**
   * Pad every row to this many positions (at least the longest example; Δ's pos): the dataset's
   * longest, so an example's gradient has the same bits whichever run it is in.
   */
  readonly pos?: number;
}

/**
 * EAP-IG over inputs in one run of the fused attribution graph: rows (step j, example i), step-major,
 * with the token embeddings e′ + α_j (e − e′) interpolated in the graph, and the per-destination
 * gradients summed over the steps in the graph before their contraction with Δ:
 *   gradient[u, v] = Σ_i Σ_j Δ_{u,i}ᵀ ∂(mean over rows of metric)/∂in_v (row (j, i))   [S·D]
 * (so scores come out as with `edgeAttribution` on the same rows with z′ = z(e_j) − Δ, without its
 * capture forward, its per-row z′ and its per-row contraction).
 *
 * Returns `{ gradient, gradients, examples, perExample }`: `gradients` [n, S·D] is each example's
 * Σ_j ∂metric(row j·n + i)/∂m over its steps in this run (not divided by the rows), perExample the
 * metric per row, step-major.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Edges, Patching, Runtime } from "@patchbay/core";
 * import { inductionTask } from "@patchbay/zoo";
 * import { Effect } from "effect";
 *
 * const task = inductionTask(0, 2);
 * const r = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.gen(function* () {
 *       const model = yield* Runtime.openModel("builtin:induction");
 *       const layout = Edges.edgeLayout(model.config);
 *       const zClean = yield* Patching.compactAblated(model.sessions, model, layout, "resample", task.clean, { corrupted: task.clean });
 *       const zCorrupt = yield* Patching.compactAblated(model.sessions, model, layout, "resample", task.clean, { corrupted: task.corrupted });
 *       const delta = Patching.mapCompact([zClean, zCorrupt], ([a, b]) => a! - b!);
 *       const binding = { positions: task.positions, answers: task.answers, wrong: task.wrong };
 *       return yield* Patching.igInputsAttribution(model.sessions, model, layout, "logit-diff", {
 *         clean: task.clean, corrupted: task.corrupted, alphas: [0, 0.5], delta, binding,
 *       });
 *     }),
 *   ),
 * );
 * assert.equal(r.perExample.length, 4); // 2 steps × 2 examples
 * assert.ok(r.gradient.some((g) => g !== 0));
 * ```
 */
export const igInputsAttribution = (
  cache: SessionCache,
  model: { readonly config: ModelConfig; readonly weights: Weights },
  layout: EdgeLayout,
  metric: MetricKind,
  run: IgRun,
): Effect.Effect<AttributionRun, InputError | RuntimeError> => {
  const n = run.clean.length;
  const ks = run.alphas.length;
  /** step-major rows: row j·n + i is example i at step j */
  const tile = <A>(xs: readonly A[]): A[] => Array.from({ length: ks * n }, (_, r) => xs[r % n]!);
  const binding: MetricBinding = {
    positions: tile(run.binding.positions),
    answers: tile(run.binding.answers),
    ...(run.binding.wrong !== undefined ? { wrong: tile(run.binding.wrong) } : {}),
    ...(run.binding.reference !== undefined ? { reference: tileRows(run.binding.reference, ks) } : {}),
  };
  return runAttribution(
    cache,
    model,
    layout,
    metric,
    tile(run.clean),
    binding,
    "ig-inputs",
    (batch) => {
      const ids = new BigInt64Array(batch.batch * batch.pos);
      for (let r = 0; r < batch.batch; r++) {
        const x = run.corrupted[r % n]!;
        if (x.length !== batch.lengths[r])
          throw new InputError({
            field: `corrupted[${r % n}]`,
            expected: `the clean example's length ${batch.lengths[r]}`,
            found: `${x.length} tokens`,
          });
        x.forEach((t, p) => {
          ids[r * batch.pos + p] = BigInt(t);
        });
      }
      const alpha = Float32Array.from({ length: batch.batch }, (_, r) => run.alphas[Math.floor(r / n)]!);
      return {
        [IG_CORRUPTED_IDS]: new ort.Tensor("int64", ids, [batch.batch, batch.pos]),
        [IG_ALPHA]: new ort.Tensor("float32", alpha, [batch.batch]),
        ...bindCompact(model.config, layout, run.delta, n, batch.pos, deltaInput),
      };
    },
    run.pos,
  );
};

/** A tensor with the example first, repeated `times` times along it (step-major rows). */
const tileRows = (t: { data: Float32Array; shape: readonly number[] }, times: number) => {
  const out = new Float32Array(t.data.length * times);
  for (let j = 0; j < times; j++) out.set(t.data, j * t.data.length);
  return { data: out, shape: [t.shape[0]! * times, ...t.shape.slice(1)] };
};
