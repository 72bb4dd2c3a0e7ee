import { Effect } from "effect";
import * as ort from "onnxruntime-node";
import { metricFeeds, type MetricBinding } from "../engine/bind.ts";
import { METRIC } from "../engine/metric.ts";
import type { MetricKind } from "../engine/spec.ts";
import { InputError, type RuntimeError } from "../errors/index.ts";
import type { ModelConfig, Weights } from "../model/index.ts";
import { weightBytes } from "../model/weights.ts";
import type { SessionCache } from "../runtime/index.ts";
import { checkMetric, checkValues } from "../runtime/finite.ts";
import { runBatch } from "../runtime/forward.ts";
import { type Batch, makeBatch } from "../runtime/batch.ts";
import { type HostTensor, sameShape, shapeString } from "../tensor/index.ts";
import {
  type AttributionMode,
  ablatedInput,
  EDGE_ATTRIBUTION,
  EDGE_EMBED,
  edgeAttributionGraph,
} from "./attribution-graph.ts";
import { CORRUPTED_IDS, withCorruptedForward } from "./attribution-corrupted.ts";
import type { CompactSources } from "./compact.ts";
import { checkedCorrupted } from "./sources.ts";
import type { EdgeLayout } from "../edges/layout.ts";

/**
 * The key prefix of the fused attribution graph's sessions in a SessionCache (EAP, EAP-IG over
 * inputs): `cache.evict(EDGE_ATTRIBUTION_SESSIONS)` releases them once the scores are in.
 */
export const EDGE_ATTRIBUTION_SESSIONS = "edge-attribution:";

/** Float32 weight bytes from which the fused attribution graph is optimized at ORT's "basic" level. */
const BASIC_FROM_BYTES = 100 * 1024 * 1024;

/**
 * ORT's optimization level for the fused attribution graph. On GPT-2 small (≈ 500 MB of weights)
 * "all" took 4–6× longer than "basic" to create the session (15.5 s against 2.6 s, loaded machine)
 * for runs no faster (interleaved: 30.4 s against 28.2 s, 19.1 s against 17.0 s); on stories260K
 * creation costs the same and "all" runs 7–9% faster (its run is overhead-bound, fusions help). The
 * cut between the two sizes is not tuned.
 */
const attributionOptimization = (w: Weights): "basic" | "all" =>
  weightBytes(w) >= BASIC_FROM_BYTES ? "basic" : "all";

export interface AttributionRun {
  /**
   * [S·D] the mean over the run's rows of ∂metric_r/∂m_uv at m = 1, dense mask order: Σ_e
   * gradients[e] / rows, summed in float64 in example order
   */
  readonly gradient: Float32Array;
  /**
   * [E·S·D] each example's own ∂metric_e/∂m_uv at m = 1 (ig-inputs: summed over its steps). The
   * graph never sums across examples, so an example's row has the same bits whichever other
   * examples share its run (at the same padded length): runs of any size add up to one result.
   */
  readonly gradients: Float32Array;
  /** E, the examples of `gradients` */
  readonly examples: number;
  /** [rows] the metric of each row */
  readonly perExample: Float32Array;
}

/** A float input checked against its shape, as ORT wants it. */
export const boundFloat = (name: string, t: HostTensor, want: readonly number[]): ort.Tensor => {
  if (!sameShape(t.shape, want))
    throw new InputError({
      field: name,
      expected: `shape ${shapeString(want)}`,
      found: shapeString(t.shape),
    });
  return new ort.Tensor("float32", t.data, [...want]);
};

/**
 * t [rows, p, …] zero-padded to [rows, pos, …] (pos ≥ p): z′ or Δ for a batch padded further than
 * its own longest example (padded positions are never read by a real one).
 */
const padPositions = (t: HostTensor, pos: number): HostTensor => {
  const [rows, p] = t.shape as [number, number];
  if (p >= pos) return t;
  const per = t.data.length / (rows * p); //                                          floats per position
  const out = new Float32Array(rows * pos * per);
  for (let r = 0; r < rows; r++) out.set(t.data.subarray(r * p * per, (r + 1) * p * per), r * pos * per);
  return { data: out, shape: [rows, pos, ...t.shape.slice(2)] };
};

/** Positions of an attribution run: a multiple of 4, so every example's [H, p, p] block is 64-byte aligned. */
const ALIGN_POSITIONS = 4;
/** Metric slots of an attribution run: a multiple of 16, so every example's [n, V] block is too. */
const ALIGN_SLOTS = 16;

/** The compact parts (z′ or Δ) as graph inputs named by `name(part)`, each [rows, pos, …]. */
export const bindCompact = (
  c: ModelConfig,
  layout: EdgeLayout,
  parts: CompactSources,
  rows: number,
  pos: number,
  name: (part: string) => string,
): Record<string, ort.Tensor> => {
  const out: Record<string, ort.Tensor> = {};
  const bind = (part: string, t: HostTensor, rest: readonly number[]) => {
    out[name(part)] = boundFloat(name(part), padPositions(t, pos), [rows, pos, ...rest]);
  };
  bind("input", parts.input, [c.dModel]);
  parts.attn.forEach((t, l) => {
    bind(
      `attn.${l}`,
      t,
      layout.granularity === "layer" ? [c.dModel] : [c.nHeads, c.postNorms === true ? c.dModel : c.dHead],
    );
  });
  parts.mlp.forEach((t, l) => {
    if (t !== null) bind(`mlp.${l}`, t, [c.dModel]);
  });
  return out;
};

/**
 * One run of the fused attribution graph in `mode`: the batch of `seqs`, the metric's feeds, and
 * the mode's own inputs from `inputs(batch)` (throwing InputError on a wrong shape).
 */
export const runAttribution = (
  cache: SessionCache,
  model: { readonly config: ModelConfig; readonly weights: Weights },
  layout: EdgeLayout,
  metric: MetricKind,
  seqs: readonly (readonly number[])[],
  binding: MetricBinding,
  mode: AttributionMode | "resample",
  inputs: (batch: Batch) => Record<string, ort.Tensor>,
  /** pad every row to this many positions (at least the longest sequence) */
  pos?: number,
): Effect.Effect<AttributionRun, InputError | RuntimeError> =>
  Effect.gen(function* () {
    const c = model.config;
    const { batch, bound } = yield* Effect.try({
      try: () => {
        // Every example's rows at the same memory alignment whatever its row in the batch, so its
        // gradient has the same bits in a run of any size: positions padded to a multiple of 4
        // (then [H, p, p] per example is a multiple of 16 floats), metric slots to 16 ([n, V]).
        const longest = Math.max(pos ?? 0, ...seqs.map((s) => s.length));
        const aligned = Math.ceil(longest / ALIGN_POSITIONS) * ALIGN_POSITIONS;
        const batch = makeBatch(c, seqs, "ids", cache.options, aligned);
        const feeds = metricFeeds(c, batch, metric, binding, ALIGN_SLOTS);
        return { batch, bound: { ...feeds, ...inputs(batch) } };
      },
      catch: (e) => e as InputError,
    });
    const session = yield* cache.get(
      `${EDGE_ATTRIBUTION_SESSIONS}${layout.granularity}:${metric}:${mode}`,
      () =>
        mode === "resample"
          ? withCorruptedForward(
              edgeAttributionGraph(c, model.weights, layout, metric, "plain"),
              c,
              model.weights,
              layout,
              ablatedInput,
            )
          : edgeAttributionGraph(c, model.weights, layout, metric, mode),
      { optimization: attributionOptimization(model.weights) },
    );
    const out = yield* runBatch(cache.model, session, batch, bound, "edge attribution");
    const scores = out[EDGE_ATTRIBUTION]!;
    const gradients = scores.data as Float32Array; //                                [E, S, D]
    const perExample = out[METRIC]!.data as Float32Array;
    // the same promise as every engine run: a metric or a score that is not finite is an error
    const mean = perExample.reduce((a, x) => a + x, 0) / perExample.length;
    const bad = checkMetric(cache.model, "edge attribution", perExample, mean);
    if (bad !== null) return yield* bad;
    const badScore = checkValues(cache.model, "edge attribution", "edge score gradient", gradients);
    if (badScore !== null) return yield* badScore;
    const examples = Number(scores.dims[0]);
    const SD = gradients.length / examples;
    const gradient = new Float32Array(SD);
    for (let j = 0; j < SD; j++) {
      let sum = 0;
      for (let e = 0; e < examples; e++) sum += gradients[e * SD + j]!;
      gradient[j] = sum / perExample.length;
    }
    return { gradient, gradients, examples, perExample };
  });

/**
 * Run it on a batch: ∂(batch-mean metric)/∂m_uv at m = 1 summed over the batch, [S·D] in the
 * layout's dense mask order, and the metric. z′ in compact form (compactAblated).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Edges, Patching, Runtime } from "@patchbay/core";
 * import { inductionTask } from "@patchbay/zoo";
 * import { Effect } from "effect";
 *
 * const task = inductionTask(0, 4);
 * const { gradient, layout } = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.gen(function* () {
 *       const model = yield* Runtime.openModel("builtin:induction");
 *       const layout = Edges.edgeLayout(model.config);
 *       const zPrime = yield* Patching.compactAblated(model.sessions, model, layout, "resample", task.clean, {
 *         corrupted: task.corrupted,
 *       });
 *       const binding = { positions: task.positions, answers: task.answers, wrong: task.wrong };
 *       const r = yield* Patching.edgeAttribution(model.sessions, model, layout, "logit-diff", task.clean, zPrime, binding);
 *       return { gradient: r.gradient, layout };
 *     }),
 *   ),
 * );
 * // EAP scores [sources · destinations]; the top one feeds the induction head a1.h2 the token it copies
 * const best = layout.edges.reduce((a, e) =>
 *   Math.abs(gradient[Edges.maskIndex(layout, e)]!) > Math.abs(gradient[Edges.maskIndex(layout, a)]!) ? e : a,
 * );
 * assert.equal(gradient.length, layout.sources.length * layout.destinations.length);
 * assert.equal(best.name, "input->a1.h2<v>");
 * ```
 */
export const edgeAttribution = (
  cache: SessionCache,
  model: { readonly config: ModelConfig; readonly weights: Weights },
  layout: EdgeLayout,
  metric: MetricKind,
  seqs: readonly (readonly number[])[],
  ablated: CompactSources,
  binding: MetricBinding,
  /** token embeddings to use instead of W_E[ids], [batch, pos, d_model] */
  embed?: HostTensor,
): Effect.Effect<AttributionRun, InputError | RuntimeError> =>
  runAttribution(
    cache,
    model,
    layout,
    metric,
    seqs,
    binding,
    embed === undefined ? "plain" : "embed",
    (b) => ({
      ...bindCompact(model.config, layout, ablated, b.batch, b.pos, ablatedInput),
      ...(embed === undefined
        ? {}
        : {
            [EDGE_EMBED]: boundFloat(EDGE_EMBED, padPositions(embed, b.pos), [
              b.batch,
              b.pos,
              model.config.dModel,
            ]),
          }),
    }),
    // z′'s positions decide the batch's: a dataset's rows padded alike in every run
    ablated.input.shape[1],
  );

/**
 * EAP's run for a resample ablation with z′ computed in the same graph: the corrupted sequences
 * (one per clean one, of the same length) go in as ids and the fused graph runs their forward
 * before its own (attribution-corrupted.ts), so no capture session for z′ is built or held. The
 * same mask gradient as `edgeAttribution` with `compactAblated(…, "resample", …)`, up to the last
 * float bits (ORT may optimise the corrupted forward differently in the two graphs).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Edges, Patching, Runtime } from "@patchbay/core";
 * import { inductionTask } from "@patchbay/zoo";
 * import { Effect } from "effect";
 *
 * const task = inductionTask(0, 4);
 * const binding = { positions: task.positions, answers: task.answers, wrong: task.wrong };
 * const [fused, separate] = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.gen(function* () {
 *       const model = yield* Runtime.openModel("builtin:induction");
 *       const layout = Edges.edgeLayout(model.config);
 *       const fused = yield* Patching.edgeAttributionResample(
 *         model.sessions, model, layout, "logit-diff", task.clean, task.corrupted, binding,
 *       );
 *       const zPrime = yield* Patching.compactAblated(model.sessions, model, layout, "resample", task.clean, {
 *         corrupted: task.corrupted,
 *       });
 *       const separate = yield* Patching.edgeAttribution(model.sessions, model, layout, "logit-diff", task.clean, zPrime, binding);
 *       return [fused.gradient, separate.gradient];
 *     }),
 *   ),
 * );
 * assert.equal(fused.length, separate.length);
 * fused.forEach((g, i) => assert.ok(Math.abs(g - separate[i]!) <= 1e-5 * (1 + Math.abs(g))));
 * ```
 */
export const edgeAttributionResample = (
  cache: SessionCache,
  model: { readonly config: ModelConfig; readonly weights: Weights },
  layout: EdgeLayout,
  metric: MetricKind,
  seqs: readonly (readonly number[])[],
  corrupted: readonly (readonly number[])[],
  binding: MetricBinding,
  /** pad every row to this many positions: the dataset's longest, so its runs line up */
  pos?: number,
): Effect.Effect<AttributionRun, InputError | RuntimeError> =>
  Effect.flatMap(checkedCorrupted(seqs, { corrupted }), (checked) =>
    runAttribution(
      cache,
      model,
      layout,
      metric,
      seqs,
      binding,
      "resample",
      (b) => {
        const ids = makeBatch(model.config, checked, "corrupted", cache.options, b.pos).ids;
        return { [CORRUPTED_IDS]: new ort.Tensor("int64", ids, [b.batch, b.pos]) };
      },
      pos,
    ),
  );
