import { edgeAttribution, edgeAttributionResample, tileCompact } from "@patchbay/core/patching";
import type { HostTensor } from "@patchbay/core/tensor";
import { InputError, type RuntimeError } from "@patchbay/core/errors";
import { Effect } from "effect";
import { rowsPerRun, runRows, tileRows } from "./masks.ts";
import { kvSlots } from "@patchbay/core/edges";
import { type EdgeSetup, higherIsBetter } from "./setup.ts";

/**
 * Edge attribution by gradients of the edge mask (docs/methods.md#eap, #eap-ig). With
 *   in_v = in_v − Σ_u (1 − m_uv)(z_u − z′_u),   ∂metric/∂m_uv = (z_u − z′_u)ᵀ ∂metric/∂in_v,
 * so the first-order estimate of ablating u→v, metric(m_uv = 0) − metric(1), is
 *   s(u→v) = −∂metric/∂m_uv |_{m=1} = (z′_u − z_u)ᵀ ∂metric/∂in_v,
 * summed over batch and positions (the metric is the batch mean). Scores are read as a loss, so
 * that a positive score means "ablating the edge hurts" (the EAP-IG/MIB convention, where
 * the metric is passed as a loss): s in units of −metric for metrics where higher is better
 * (logit-diff, logprob, prob, prob-diff) and of the metric itself for KL and cross-entropy. They
 * are in the same units as exact patching scores, per edge in layout order.
 */
export interface EdgeScores {
  readonly method: string;
  /** [E] one score per layout edge */
  readonly scores: Float64Array;
  readonly runs: number;
  /** example forward (+ backward) passes */
  readonly rows: number;
}

const MASK_GRAD = [{ _tag: "edges", param: "mask" } as const];

/** Accumulate −Σ_rows grad[r] into per-edge scores, weighting rows by `weight(r)`. */
export const accumulate = (
  setup: EdgeSetup,
  scores: Float64Array,
  grad: HostTensor,
  weight: (r: number, e: number) => number,
) => {
  const { layout } = setup;
  const D = layout.destinations.length;
  const SD = layout.sources.length * D;
  const rows = grad.data.length / SD;
  const sign = higherIsBetter(setup.task.metric) ? -1 : 1;
  layout.edges.forEach((e, i) => {
    const at = e.source * D + e.destination;
    let s = 0;
    for (let r = 0; r < rows; r++) {
      const w = weight(r, i);
      if (w !== 0) s += w * grad.data[r * SD + at]!;
    }
    scores[i]! -= sign * s;
  });
};

/**
 * scores −= sign · g_e / divisor for each example e of a run's per-example gradients [E, S·D]
 * (sign: −1 when a higher metric is better), added one example at a time in example order: how
 * examples were cut into runs then changes no bit of the scores.
 */
export const addExamples = (
  setup: EdgeSetup,
  scores: Float64Array,
  gradients: Float32Array, //                                                      [E, S·D]
  examples: number,
  divisor: number,
): void => {
  const { layout } = setup;
  const D = layout.destinations.length;
  const SD = layout.sources.length * D;
  const sign = higherIsBetter(setup.task.metric) ? -1 : 1;
  for (let e = 0; e < examples; e++) {
    const g = gradients.subarray(e * SD, (e + 1) * SD);
    layout.edges.forEach((edge, i) => {
      scores[i]! -= (sign * g[edge.source * D + edge.destination]!) / divisor;
    });
  }
};

/**
 * EAP (Syed et al. 2023): one corrupted forward (z′) and one forward and backward of the fused
 * model (core's edgeAttribution: the same mask gradient as the edge-masked graph, without its
 * per-destination forward). With resample ablation the corrupted forward is part of the fused
 * graph (core's edgeAttributionResample), so one session does all three.
 *
 * Returns `{ method, scores, runs, rows }`, one score per layout edge.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { eap, prepareEdges, rocAuc } from "@patchbay/circuits";
 * import { makeSessionCache } from "@patchbay/core/runtime";
 * import { inductionCircuit, inductionModel, inductionTask } from "@patchbay/zoo";
 * import { Effect } from "effect";
 * import { edgeLayout } from "@patchbay/core/edges";
 *
 * const model = inductionModel({ attnLogit: 4 }); // the compiled induction model: 81 edges
 * const task = { ...inductionTask(1, 4, { blockLen: 8 }), ablation: "resample", metric: "logit-diff" } as const;
 * const r = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.gen(function* () {
 *       const setup = yield* prepareEdges(yield* makeSessionCache("doc", { threads: 1 }), model, task);
 *       return yield* eap(setup);
 *     }),
 *   ),
 * );
 * const truth = new Set(inductionCircuit({ ablation: "resample" }).map((n) => edgeLayout(model.config).edges.findIndex((e) => e.name === n)));
 * assert.equal(r.scores.length, 81);
 * assert.ok(rocAuc(r.scores.map(Math.abs), truth) > 0.9);
 * ```
 */
export const eap = (
  setup: EdgeSetup,
  opts: EapOptions = {},
): Effect.Effect<EdgeScores, InputError | RuntimeError> =>
  Effect.gen(function* () {
    const { layout } = setup;
    const scores = new Float64Array(layout.edges.length);
    const chunk = yield* eapRowsPerRun(setup, opts.maxFloats);
    const SD = layout.sources.length * layout.destinations.length;
    const sign = higherIsBetter(setup.task.metric) ? -1 : 1;
    let runs = 0;
    for (let start = 0; start < setup.N; start += chunk) {
      const rows = Array.from({ length: Math.min(chunk, setup.N - start) }, (_, r) => start + r);
      const t = tileRows(setup, rows);
      // resample: z′ from the corrupted examples inside the fused graph (no capture session)
      const { ablation, corrupted: all } = setup.task;
      const corrupted = ablation === "resample" && all?.length === setup.N ? all : undefined;
      const r = yield* corrupted !== undefined
        ? edgeAttributionResample(
            setup.cache,
            setup.model,
            layout,
            setup.task.metric,
            t.seqs,
            rows.map((b) => corrupted[b]!),
            t.metric,
            setup.P,
          )
        : Effect.flatMap(setup.compact, (compact) =>
            edgeAttribution(
              setup.cache,
              setup.model,
              layout,
              setup.task.metric,
              t.seqs,
              tileCompact(compact, rows),
              t.metric,
            ),
          );
      // s = −(1/N) Σ_e ∂metric_e/∂m
      addExamples(setup, scores, r.gradients, rows.length, setup.N);
      runs++;
    }
    return { method: "eap", scores, runs, rows: setup.N };
  });

export interface EapOptions {
  /**
   * Floats one run may hold beyond the model (default EAP_MAX_FLOATS, 1 GiB): fewer means more,
   * smaller runs and the same scores, bit for bit. Below one example it is refused.
   */
  readonly maxFloats?: number;
}

/** EAP's default run budget: 256 Mi floats (1 GiB) of per-example tensors. */
export const EAP_MAX_FLOATS = 256 * 1024 * 1024;

/**
 * Floats one example holds in EAP's fused attribution graph: Δ of every source twice (as rows
 * [S, p·d] and by position [p, S, d]) and Ũ of every q/k/v input [N, p·d], N = L·(H + 2·H_kv);
 * the activations of forward and backward are small beside them. On GPT-2 small at 128 tokens
 * that is 73 Mi floats (≈ 290 MB).
 */
export const eapRowFloats = (setup: EdgeSetup): number => {
  const c = setup.model.config;
  const N = c.nLayers * (c.nHeads + 2 * kvSlots(c, setup.layout.granularity));
  return setup.P * c.dModel * (2 * setup.layout.sources.length + N);
};

/** Examples per EAP run within `maxFloats` (eapRowFloats each); below one example, an InputError. */
export const eapRowsPerRun = (
  setup: EdgeSetup,
  maxFloats: number = EAP_MAX_FLOATS,
): Effect.Effect<number, InputError> => {
  const perRow = eapRowFloats(setup);
  return Number.isFinite(maxFloats) && maxFloats >= perRow
    ? Effect.succeed(Math.min(setup.N, Math.floor(maxFloats / perRow)))
    : Effect.fail(
        new InputError({
          field: "maxFloats",
          expected: `at least one example's floats in EAP's fused graph (${perRow} at ${setup.P} positions)`,
          found: String(maxFloats),
        }),
      );
};

export interface IgOptions {
  /** K, the number of interpolation steps (EAP-IG's default 5). */
  readonly steps?: number;
  /** Float budget of one run (see rowsPerRun); smaller means more, smaller runs, same scores. */
  readonly maxFloats?: number;
}

/**
 * EAP-IG over activations: the inputs of one stage of destinations at a time (a layer's
 * attention, a layer's MLP, the logits) move from ablated to clean, in_v(α) = in_v(x̃) + α Σ_u Δ_u,
 * which is the mask α on every edge into that stage; elsewhere the mask stays 1, so the sources
 * upstream hold their clean values and the mask gradient is Δ_uᵀ ∂metric/∂in_v(α):
 *   s(u→v) = −(1/K) Σ_{k=0}^{K−1} ∂metric/∂m_uv |_{m_stage(v) = k/K}
 * Rows (stage, k, example) share one compiled graph. The integration baseline is the ablated
 * z′ of the setup, so every ablation is its own baseline: resample (z(x′)), zero (z′ = 0: the
 * stage's inputs move from "no upstream writer" to clean), mean and mean-positional (the dataset
 * means). With a metric linear in the masks these scores are exact patching's, for each ablation
 * (a test checks resample and zero on the edges into the logits of a norm-free model).
 *
 * Returns `{ method, scores, runs, rows }`, one score per layout edge.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { eapIgActivations, prepareEdges } from "@patchbay/circuits";
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
 *       return yield* eapIgActivations(setup, { steps: 3 });
 *     }),
 *   ),
 * );
 * assert.equal(r.scores.length, 81);
 * assert.ok(r.scores.every(Number.isFinite));
 * ```
 */
export const eapIgActivations = (
  setup: EdgeSetup,
  opts: IgOptions = {},
): Effect.Effect<EdgeScores, InputError | RuntimeError> =>
  Effect.gen(function* () {
    const K = opts.steps ?? 5;
    if (!(Number.isInteger(K) && K >= 1))
      return yield* new InputError({ field: "steps", expected: "an integer ≥ 1", found: String(K) });
    const { layout } = setup;
    const D = layout.destinations.length;
    const stageKey = (d: (typeof layout.destinations)[number]) =>
      d.kind === "logits" ? "logits" : `${d.kind === "mlp" ? "m" : "a"}${d.layer}`;
    const stages = [...new Set(layout.destinations.map(stageKey))];
    const stageOf = layout.destinations.map((d) => stages.indexOf(stageKey(d)));
    const destsOf = stages.map((_, s) =>
      layout.destinations.filter((_, i) => stageOf[i] === s).map((d) => d.index),
    );
    const G = stages.length;
    const scores = new Float64Array(layout.edges.length);
    // all rows: (stage g, step k, example b) flattened
    const total = G * K * setup.N;
    const chunk = rowsPerRun(setup, opts.maxFloats);
    let runs = 0;
    for (let start = 0; start < total; start += chunk) {
      const end = Math.min(total, start + chunk);
      const id = (r: number) => start + r; //                         global row → (g, k, b)
      const gOf = (r: number) => Math.floor(id(r) / (K * setup.N));
      const kOf = (r: number) => Math.floor(id(r) / setup.N) % K;
      const rows = Array.from({ length: end - start }, (_, r) => id(r) % setup.N);
      const res = yield* runRows(
        setup,
        rows,
        (r, out) => {
          const alpha = kOf(r) / K;
          for (const v of destsOf[gOf(r)]!)
            for (let s = 0; s < layout.sources.length; s++) out[s * D + v] = alpha;
        },
        MASK_GRAD,
      );
      // the run's gradient is of its mean over (end − start) rows; each stage's estimate is the mean
      // over its K·N rows, so a row weighs (end − start)/(K·N) for the edges into its own stage
      const n = end - start;
      accumulate(setup, scores, res.grads.get("edges:mask")!, (r, e) =>
        stageOf[layout.edges[e]!.destination] === gOf(r) ? n / (K * setup.N) : 0,
      );
      runs++;
    }
    return { method: `eap-ig-activations(${K})`, scores, runs, rows: total };
  });
