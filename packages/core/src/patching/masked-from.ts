import { weightBytes } from "../model/weights.ts";
import { Effect } from "effect";
import * as ort from "onnxruntime-node";
import { EDGE_ABLATED, EDGE_MASK, EDGE_UPSTREAM, edgeHooks, sourcesBefore } from "../edges/hooks.ts";
import type { EdgeLayout } from "../edges/layout.ts";
import { type MetricBinding, metricFeeds } from "../engine/bind.ts";
import { METRIC } from "../engine/metric.ts";
import type { MetricKind } from "../engine/spec.ts";
import { attempt, InputError, type RuntimeError } from "../errors/index.ts";
import type { Graph } from "../graph/index.ts";
import type { Model, ModelConfig, Weights } from "../model/index.ts";
import { makeBatch } from "../runtime/batch.ts";
import { checkMetric } from "../runtime/finite.ts";
import { runBatch } from "../runtime/forward.ts";
import type { SessionCache } from "../runtime/index.ts";
import type { HostTensor } from "../tensor/index.ts";
import { buildTransformerGraph, FROM_RESID } from "../transformer/index.ts";
import type { CleanStreams } from "./clean-streams.ts";
import { startLayer } from "./downstream.ts";
import { tileBinding } from "./exact-edges.ts";
import { metricAtSlots } from "./slots.ts";
import { checkAblated } from "./ablated-shape.ts";

/**
 * The edge-masked model downstream of layer L (edges/hooks.ts, `edgeHooks(c, layout, L)`): for
 * masks that remove no edge into a destination before L, the metric of each mask on each example
 * equals the full edge-masked graph's, but a row runs only layers L.. (L = nLayers: ln_final and
 * the metric alone), starts from the clean resid_pre of L, and reads the sources before L as one
 * per-example Δ. The logits are unembedded at the metric slots only (slots.ts). With `streams`,
 * the run also returns its own state (edges/hooks.ts, edgeStreamOutput / edgeDeltaOutput), for a
 * next run from a later layer (masked-state.ts).
 */
export const maskedGraphFrom = (
  c: ModelConfig,
  w: Weights,
  layout: EdgeLayout,
  layer: number,
  metric: MetricKind,
  streams = false,
): Graph => {
  const from =
    layer < c.nLayers
      ? ({ layer, site: "resid_pre" } as const)
      : ({ layer: c.nLayers - 1, site: "resid_post" } as const);
  const { builder, final } = buildTransformerGraph(c, w, {
    from,
    hooks: edgeHooks(c, layout, layer, streams),
    logits: false,
  });
  builder.output(metricAtSlots(builder, c, w, metric, final).perExample);
  return builder.build();
};

/** Floats one run's rows may hold (1 GiB). */
const MAX_FLOATS = 256 * 1024 * 1024;

/**
 * Rows per run within `maxFloats`: a row holds the Δ of every source computed in the run
 * [P, S − S_L, d] (live until the logits read them), one layer's per-destination inputs and norm
 * intermediates (≈ 6 copies of [P, H + 2H_kv + 1, d]), its attention scores and MLP activations,
 * and its mask [S, D].
 */
export const maskedRowsPerRun = (
  m: Model,
  layout: EdgeLayout,
  P: number,
  layer: number,
  maxFloats = MAX_FLOATS,
): number => {
  const c = m.config;
  const S = layout.sources.length;
  const perRow =
    P * c.dModel * (S - sourcesBefore(layout, layer) + 6 * (c.nHeads + 2 * c.nKvHeads + 1)) +
    P * (2 * (c.dMlp ?? 0) + 2 * c.nHeads * P) +
    S * layout.destinations.length;
  return Math.max(1, Math.floor(maxFloats / perRow));
};

/**
 * Rows [b0, b0 + e) of a per-example tensor [N, P, …] at `pos` positions: a view when the run's
 * positions are the task's (Δ and z′ go to the graph as the host holds them), else a copy
 * truncated or zero-padded per example.
 */
const examplesAt = (
  t: Float32Array,
  N: number,
  P: number,
  b0: number,
  e: number,
  pos: number,
): Float32Array => {
  const per = t.length / (N * P); //                                                  floats per position
  if (pos === P) return t.subarray(b0 * P * per, (b0 + e) * P * per);
  const out = new Float32Array(e * pos * per);
  const keep = Math.min(pos, P);
  for (let i = 0; i < e; i++)
    out.set(t.subarray((b0 + i) * P * per, ((b0 + i) * P + keep) * per), i * pos * per);
  return out;
};

export interface MaskedRun {
  /** the metric per mask and example [M·N] (mask-major) */
  readonly perExample: Float32Array;
  /** session runs */
  readonly runs: number;
}

/**
 * The first edge into a destination before `layer` on which a mask differs from `base` (the mask
 * the upstream streams were computed under; null: every edge kept, the clean run), or a value out
 * of [0, 1].
 */
export const badEntry = (
  c: ModelConfig,
  layout: EdgeLayout,
  mask: Float32Array,
  layer: number,
  base: Float32Array | null,
): string | null => {
  const D = layout.destinations.length;
  for (const e of layout.edges) {
    const i = e.source * D + e.destination;
    const x = mask[i]!;
    if (!(x >= 0 && x <= 1)) return `${e.name} = ${x} (outside [0, 1])`;
    if (x !== (base === null ? 1 : base[i]) && startLayer(c, layout.destinations[e.destination]!) < layer)
      return `${e.name} = ${x}${base === null ? "" : `, the streams' mask has ${base[i]}`}`;
  }
  return null;
};

/**
 * The metric of M edge masks on N examples, each row run downstream of layer `layer` only
 * (maskedGraphFrom): exact when no mask removes an edge into a destination before that layer,
 * which is what ACDC's masks satisfy while it visits receivers at `layer` (a mask that does not is
 * an InputError naming the edge). `clean` holds the stream entering `layer` and the sources' Δ
 * (cleanStreams); `ablated` is z′ [N, P, S, d]. Rows are example-major per run, as many trials
 * per run as fit 1 GiB (maskedRowsPerRun), or `maxRows`.
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
 *       const zPrime = yield* Patching.ablatedSources(model.sessions, model, layout, "resample", task.clean, {
 *         corrupted: task.corrupted,
 *       });
 *       const clean = yield* Patching.cleanStreams(model.sessions, model, layout, task.clean, zPrime, [2]);
 *       const binding = { positions: task.positions, answers: task.answers, wrong: task.wrong };
 *       const D = layout.destinations.length;
 *       const full = new Float32Array(layout.sources.length * D).fill(1);
 *       const cut = Float32Array.from(full); // without the induction head's edge into the logits
 *       const e = layout.edges.find((x) => x.name === "a1.h2->logits")!;
 *       cut[e.source * D + e.destination] = 0;
 *       const layer = model.config.nLayers; // the logits: only ln_final and the metric run
 *       return yield* Patching.evaluateMasksFrom(model.sessions, model, layout, "logit-diff", task.clean, clean, zPrime, binding, layer, [full, cut]);
 *     }),
 *   ),
 * );
 * assert.equal(r.perExample.length, 4); // 2 masks × 2 examples
 * assert.ok(r.perExample[2]! < r.perExample[0]!); // cutting the induction head lowers the logit difference
 * ```
 */
export const evaluateMasksFrom = (
  cache: SessionCache,
  model: Model,
  layout: EdgeLayout,
  metric: MetricKind,
  seqs: readonly (readonly number[])[],
  clean: CleanStreams,
  ablated: HostTensor,
  binding: MetricBinding,
  layer: number,
  masks: readonly Float32Array[],
  maxRows?: number,
): Effect.Effect<MaskedRun, InputError | RuntimeError> =>
  Effect.gen(function* () {
    const c = model.config;
    const { N, P, S, D, d } = runShape(c, layout, seqs);
    const M = masks.length;
    yield* checkAblated(ablated, N, P, S, d);
    const resid = clean.resid.get(layer);
    if (!(Number.isInteger(layer) && layer >= 0 && layer <= c.nLayers) || resid === undefined)
      return yield* new InputError({
        field: "layer",
        expected: `a start layer in [0, ${c.nLayers}] whose stream the clean run captured`,
        found: String(layer),
      });
    for (let i = 0; i < M; i++) {
      const bad =
        masks[i]!.length === S * D
          ? badEntry(c, layout, masks[i]!, layer, null)
          : `${masks[i]!.length} entries`;
      if (bad !== null)
        return yield* new InputError({
          field: `masks[${i}]`,
          expected: `S·D = ${S * D} entries in [0, 1], removing no edge into a destination before layer ${layer}`,
          found: bad,
        });
    }
    return yield* runMasksFrom(
      cache,
      model,
      layout,
      metric,
      seqs,
      clean,
      ablated,
      binding,
      layer,
      masks,
      maxRows,
    );
  });

/** The sizes of a masked run: N examples of up to P tokens, S sources, D destinations, width d. */
export const runShape = (c: ModelConfig, layout: EdgeLayout, seqs: readonly (readonly number[])[]) => ({
  N: seqs.length,
  P: Math.max(...seqs.map((s) => s.length)),
  S: layout.sources.length,
  D: layout.destinations.length,
  d: c.dModel,
});

/** What a run with `streams` returns besides the metric: its outputs, for examples [b0, b0 + e) at `pos` positions. */
export type StreamsSink = (
  out: ort.InferenceSession.OnnxValueMapType,
  b0: number,
  e: number,
  pos: number,
) => void;

/**
 * evaluateMasksFrom's runs once its inputs are checked (shapes, a captured stream at `layer`, masks
 * that agree upstream of it). With `streams` (one mask), the graph also returns its state
 * (maskedGraphFrom), handed to the sink run by run.
 */
export const runMasksFrom = (
  cache: SessionCache,
  model: Model,
  layout: EdgeLayout,
  metric: MetricKind,
  seqs: readonly (readonly number[])[],
  clean: CleanStreams,
  ablated: HostTensor,
  binding: MetricBinding,
  layer: number,
  masks: readonly Float32Array[],
  maxRows?: number,
  streams?: StreamsSink,
): Effect.Effect<MaskedRun, InputError | RuntimeError> =>
  Effect.gen(function* () {
    const c = model.config;
    const { N, P, S, D, d } = runShape(c, layout, seqs);
    const M = masks.length;
    const resid = clean.resid.get(layer)!;
    const session = yield* cache.get(
      `masked-from${streams === undefined ? "" : "-streams"}:${layout.granularity}:${metric}:${layer}`,
      () => maskedGraphFrom(c, model.weights, layout, layer, metric, streams !== undefined),
      { arenaBytes: weightBytes(model.weights) }, // the late layers' graphs are small pieces of the model
    );
    const chunk = Math.max(1, maxRows ?? maskedRowsPerRun(model, layout, P, layer));
    // a run: trials [t0, t0 + T) × examples [b0, b0 + E), example-major
    const T = streams !== undefined ? 1 : N <= chunk ? Math.min(M, Math.floor(chunk / N)) : 1;
    const E = Math.min(N, chunk);
    const perExample = new Float32Array(M * N);
    let runs = 0;
    for (let t0 = 0; t0 < M; t0 += T)
      for (let b0 = 0; b0 < N; b0 += E) {
        const trials = Math.min(T, M - t0);
        const examples = Array.from({ length: Math.min(E, N - b0) }, (_, i) => b0 + i);
        const rowsOf = examples.flatMap((b) => Array.from({ length: trials }, () => b));
        const R = rowsOf.length;
        const batch = yield* attempt(
          () =>
            makeBatch(
              c,
              rowsOf.map((b) => seqs[b]!),
              "clean",
              cache.options,
            ),
          InputError,
        );
        const pos = batch.pos;
        const keep = Math.min(pos, P);
        const from = new Float32Array(R * pos * d);
        rowsOf.forEach((b, r) => {
          from.set(resid.data.subarray(b * P * d, (b * P + keep) * d), r * pos * d);
        });
        const mask = new Float32Array(R * S * D);
        examples.forEach((_, i) => {
          for (let t = 0; t < trials; t++) mask.set(masks[t0 + t]!, (i * trials + t) * S * D);
        });
        const e = examples.length;
        const up = examplesAt(clean.delta, N, P, b0, e, pos);
        const zPrime = examplesAt(ablated.data, N, P, b0, e, pos);
        const values: Record<string, ort.Tensor> = {
          ...(yield* attempt(() => metricFeeds(c, batch, metric, tileBinding(binding, rowsOf)), InputError)),
          [FROM_RESID]: new ort.Tensor("float32", from, [R, pos, d]),
          [EDGE_MASK]: new ort.Tensor("float32", mask, [R, S, D]),
          [EDGE_UPSTREAM]: new ort.Tensor("float32", up, [e, pos, S, d]),
          [EDGE_ABLATED]: new ort.Tensor("float32", zPrime, [e, pos, S, d]),
        };
        const out = yield* runBatch(
          cache.model,
          session,
          batch,
          values,
          `edge masks downstream of layer ${layer}`,
        );
        runs++;
        const metricValues = out[METRIC]!.data as Float32Array;
        const mean = metricValues.reduce((a, x) => a + x, 0) / metricValues.length;
        const bad = checkMetric(cache.model, "edge masks downstream of a layer", metricValues, mean);
        if (bad !== null) return yield* bad;
        examples.forEach((b, i) => {
          for (let t = 0; t < trials; t++) perExample[(t0 + t) * N + b] = metricValues[i * trials + t]!;
        });
        streams?.(out, b0, e, pos);
      }
    return { perExample, runs };
  });
