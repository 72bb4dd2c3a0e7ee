import { Effect } from "effect";
import { ablatedSources, fullMask } from "@patchbay/core/patching";
import { type EdgeLayout, edgeLayout, maskIndex } from "@patchbay/core/edges";
import type { HostTensor } from "@patchbay/core/tensor";
import type { InputError, RuntimeError } from "@patchbay/core/errors";
import type { Model, ModelConfig } from "@patchbay/core/model";
import { type Plan, plan, runPlan } from "@patchbay/core/engine";
import type { SessionCache } from "@patchbay/core/runtime";

/**
 * The ground-truth circuit of a trained zoo model by exact edge patching (head granularity,
 * resample ablation with the task's corrupted inputs):
 *   1. m(full) (no edge ablated) and m(∅) (every edge ablated); range = m(full) − m(∅);
 *   2. score(e) = m(full) − m(full without e), every edge, batched (one mask per example copy);
 *   3. C(τ) = {e : |score(e)| > τ·|range|}; faithfulness f(C) = (m(C) − m(∅)) / range;
 *   4. τ is the largest of `thresholds` with |f(C(τ)) − 1| ≤ tolerance (else the smallest tried).
 * m is the task's metric computed on the host from the logits (so sums over answer sets, as
 * greater-than's probability difference, are exact), averaged over the examples.
 */
export interface PatchingTask {
  readonly name: string;
  readonly metricName: string;
  readonly clean: readonly (readonly number[])[];
  /** Paired with clean by index, same lengths. */
  readonly corrupted: readonly (readonly number[])[];
  /** The metric of clean example `example`, read from row `row` of logits [batch, pos, vocab]. */
  readonly metric: (logits: HostTensor, row: number, example: number) => number;
  /**
   * The same pairs as an engine task (logit difference answer − wrong at positions, per example):
   * the exact metric for induction and IOI, a single-token proxy for greater-than's probability
   * difference (answer YY+1, wrong YY).
   */
  readonly positions: number[][];
  readonly answers: number[][];
  readonly wrong: number[][];
}

export interface CircuitOptions {
  /** Fractions τ of |m(full) − m(∅)| tried, largest first (default 0.05, 0.02, 0.01, 0.005, 0.002). */
  readonly thresholds?: readonly number[];
  /** Accept τ when |f − 1| ≤ tolerance (default 0.05). */
  readonly tolerance?: number;
  /** Example copies per run (default: as many as keep a run ≤ 512 sequences). */
  readonly edgesPerRun?: number;
}

export interface GroundTruth {
  readonly layout: EdgeLayout;
  /** score(e) = m(full) − m(without e), in layout.edges order. */
  readonly scores: Float64Array;
  readonly inGraph: Uint8Array;
  readonly threshold: number;
  readonly full: number;
  readonly empty: number;
  readonly faithfulness: number;
  /** Faithfulness of C(τ) for every τ tried. */
  readonly sweep: readonly {
    readonly threshold: number;
    readonly edges: number;
    readonly faithfulness: number;
  }[];
}

const edgePlan: Plan = plan({ edges: { granularity: "head" } });

/**
 * The ground-truth circuit of a model on a patching task, by exact edge patching: every edge's effect, then the smallest threshold whose circuit is faithful. Returns `{ layout, scores, inGraph, threshold, full, empty, faithfulness, sweep }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { randomWeights } from "@patchbay/core/model";
 * import { makeSessionCache } from "@patchbay/core/runtime";
 * import { Effect } from "effect";
 * import { groundTruthCircuit, inductionPatchingTask, trainedInductionConfig } from "@patchbay/zoo";
 * const config = trainedInductionConfig();
 * const model = { config, weights: randomWeights(config, 0) };
 * const r = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.flatMap(makeSessionCache("doc", { threads: 1 }), (cache) =>
 *       groundTruthCircuit(cache, model, inductionPatchingTask(0, 4)),
 *     ),
 *   ),
 * );
 * assert.equal(r.scores.length, r.layout.edges.length);
 * assert.equal(r.inGraph.length, r.layout.edges.length);
 * ```
 */
export const groundTruthCircuit = (
  cache: SessionCache,
  model: Model,
  task: PatchingTask,
  opts: CircuitOptions = {},
): Effect.Effect<GroundTruth, InputError | RuntimeError> =>
  Effect.gen(function* () {
    const layout = edgeLayout(model.config, "head");
    const S = layout.sources.length;
    const D = layout.destinations.length;
    const B = task.clean.length;
    const E = layout.edges.length;
    const ablated1 = yield* ablatedSources(cache, model, layout, "resample", task.clean, {
      corrupted: task.corrupted,
    });
    const perRun = Math.max(1, opts.edgesPerRun ?? Math.floor(512 / B));
    // k copies of the batch, one edge mask per copy: [(k·B), ...]
    const copies = (k: number) => ({
      seqs: Array.from({ length: k }, () => task.clean).flat(),
      ablated: {
        data: (() => {
          const d = new Float32Array(k * ablated1.data.length);
          for (let i = 0; i < k; i++) d.set(ablated1.data, i * ablated1.data.length);
          return d;
        })(),
        shape: [k * B, ...ablated1.shape.slice(1)],
      } as HostTensor,
    });
    const cached = new Map<number, ReturnType<typeof copies>>();
    const inputsFor = (k: number) => {
      let c = cached.get(k);
      if (c === undefined) {
        c = copies(k);
        cached.set(k, c);
      }
      return c;
    };
    /** Mean metric for each of several masks (each a Uint8Array over edges, 1 = keep). */
    const run = (keeps: readonly Uint8Array[]) =>
      Effect.gen(function* () {
        const out: number[] = [];
        for (let s = 0; s < keeps.length; s += perRun) {
          const group = keeps.slice(s, s + perRun);
          const k = group.length;
          const { seqs, ablated } = inputsFor(k);
          const mask = fullMask(layout, k * B, 0);
          group.forEach((keep, i) => {
            for (const e of layout.edges)
              if (keep[e.index] === 1)
                for (let b = 0; b < B; b++) mask.data[(i * B + b) * S * D + maskIndex(layout, e)] = 1;
          });
          const r = yield* runPlan(cache, model, edgePlan, seqs, { edges: { mask, ablated } });
          for (let i = 0; i < k; i++) {
            let m = 0;
            for (let b = 0; b < B; b++) m += task.metric(r.logits!, i * B + b, b);
            out.push(m / B);
          }
        }
        return out;
      });
    const all = new Uint8Array(E).fill(1);
    const [full, empty] = (yield* run([all, new Uint8Array(E)])) as [number, number];
    const without = layout.edges.map((e) => {
      const k = new Uint8Array(E).fill(1);
      k[e.index] = 0;
      return k;
    });
    const ms = yield* run(without);
    const scores = Float64Array.from(ms, (m) => full - m);
    const range = full - empty;
    const thresholds = opts.thresholds ?? [0.05, 0.02, 0.01, 0.005, 0.002];
    const tolerance = opts.tolerance ?? 0.05;
    const sets = thresholds.map((t) =>
      Uint8Array.from(scores, (s) => (Math.abs(s) > t * Math.abs(range) ? 1 : 0)),
    );
    const mC = yield* run(sets);
    const sweep = thresholds.map((threshold, i) => ({
      threshold,
      edges: sets[i]!.reduce((a, b) => a + b, 0),
      faithfulness: (mC[i]! - empty) / range,
    }));
    const pick = sweep.findIndex((s) => Math.abs(s.faithfulness - 1) <= tolerance);
    const i = pick >= 0 ? pick : sweep.length - 1;
    return {
      layout,
      scores,
      inGraph: sets[i]!,
      threshold: sweep[i]!.threshold,
      full,
      empty,
      faithfulness: sweep[i]!.faithfulness,
      sweep,
    };
  });

/**
 * The circuit as EAP-IG / MIB JSON (what EAP-IG's Graph.to_json writes; @patchbay/circuits'
 * toMibJson, restated here because core cannot import circuits): cfg, nodes {name: {in_graph}}
 * (a node is in when it has an in-graph out-edge and, the input excepted, an in-graph in-edge;
 * logits always), edges {"u->v": {score, in_graph}}. Plus a `patchbay` block with the method,
 * threshold and faithfulness. Head granularity, no grouped-query attention (kv names = head names).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { randomWeights } from "@patchbay/core/model";
 * import { makeSessionCache } from "@patchbay/core/runtime";
 * import { Effect } from "effect";
 * import { circuitJson, groundTruthCircuit, inductionPatchingTask, trainedInductionConfig } from "@patchbay/zoo";
 * const config = trainedInductionConfig();
 * const model = { config, weights: randomWeights(config, 0) };
 * const task = inductionPatchingTask(0, 4);
 * const r = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.flatMap(makeSessionCache("doc", { threads: 1 }), (cache) =>
 *       groundTruthCircuit(cache, model, task),
 *     ),
 *   ),
 * );
 * const json = circuitJson(config, r, task);
 * assert.equal(json.cfg.n_layers, 2);
 * assert.equal(Object.keys(json.edges).length, r.layout.edges.length);
 * ```
 */
export const circuitJson = (config: ModelConfig, gt: GroundTruth, task: PatchingTask) => {
  const { layout } = gt;
  const edges: Record<string, { score: number; in_graph: boolean }> = {};
  const hasOut = new Set<string>();
  const hasIn = new Set<string>();
  for (const e of layout.edges) {
    const on = gt.inGraph[e.index] === 1;
    edges[e.name] = { score: gt.scores[e.index]!, in_graph: on };
    if (on) {
      hasOut.add(layout.sources[e.source]!.name);
      hasIn.add(layout.destinations[e.destination]!.node);
    }
  }
  const nodes: Record<string, { in_graph: boolean }> = {};
  for (const s of layout.sources)
    nodes[s.name] = { in_graph: hasOut.has(s.name) && (s.kind === "input" || hasIn.has(s.name)) };
  nodes.logits = { in_graph: true };
  return {
    cfg: {
      n_layers: config.nLayers,
      n_heads: config.nHeads,
      parallel_attn_mlp: config.parallelResidual,
      d_model: config.dModel,
    },
    nodes,
    edges,
    patchbay: {
      method: "exact edge patching, resample ablation (clean/corrupted pairs), head granularity",
      task: task.name,
      metric: task.metricName,
      examples: task.clean.length,
      score: "m(full) − m(full without the edge)",
      threshold: `|score| > ${gt.threshold} · |m(full) − m(∅)|`,
      m_full: gt.full,
      m_empty: gt.empty,
      faithfulness: gt.faithfulness,
      sweep: gt.sweep,
    },
  };
};
