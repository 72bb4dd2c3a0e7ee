import { attempt, InputError, type RuntimeError } from "@patchbay/core/errors";
import type { HostTensor } from "@patchbay/core/tensor";
import { type MetricBinding, plan, runPlan } from "@patchbay/core/engine";
import type { Model } from "@patchbay/core/model";
import type { SessionCache } from "@patchbay/core/runtime";
import { Effect } from "effect";
import {
  type FeatureAttributionData,
  featureAttribution,
  mustEqualLayout,
  nodeValues,
} from "./attribution.ts";
import { positionsFor, saeSite } from "./capture.ts";
import type { Sae } from "./sae.ts";
import type { CircuitSize, FeatureCircuitSpec } from "./spec.ts";

/**
 * Node-level sparse feature circuits (Marks et al. 2024) at one SAE site. The N = m + 1 nodes are
 * the m features and the error node ε = x − x̂ (exact decomposition x = x̂(f) + ε). A circuit C is a
 * set of nodes kept at their clean values; every other node takes its corrupted value:
 *   x_C = x̂(f_C) + ε_C,  (f_C)_i = f_i(clean) if i ∈ C else f_i(corr),  ε_C = ε ∈ C ? ε_clean : ε_corr
 *       = x_corr + Σ_{i∈C} (f_i(clean) − f_i(corr)) W_dec[:, i]/c + [ε ∈ C](ε_clean − ε_corr)
 * at the chosen positions (x̂ is affine in f), and the site is replaced by x_C on the clean prompts.
 *   f(C) = (m(C) − m(∅)) / (m(full) − m(∅))
 * full = every node clean (x_C = x_clean: the clean run), ∅ = every node corrupted (x_C = x_corr).
 * C_n = the top-n nodes by |score|; the curve is f(C_n) over the spec's sizes, and its area is the
 * trapezoid rule over (n/N, f(C_n)) with the end points n = 0 and n = N included.
 * Where m is linear in the site, m(C) = m(∅) + Σ_{j∈C} score_j exactly for attribution scores.
 */

export type CircuitNodeId = number | "error";

export interface CircuitNode {
  readonly node: CircuitNodeId;
  readonly score: number;
  /** 1-based rank by |score| (ties: features by index, the error node last). */
  readonly rank: number;
  readonly inGraph: boolean;
}

export interface FeatureCircuitResult {
  readonly site: string;
  readonly metric: string;
  readonly scores: "attribution" | "exact";
  /** N = m + 1. */
  readonly nodeCount: number;
  /** Every node, ranked by |score|. */
  readonly nodes: CircuitNode[];
  /** Batch-mean metric with every node clean / every node corrupted (through the same replace plan). */
  readonly metricFull: number;
  readonly metricEmpty: number;
  readonly curve: { readonly sizes: number[]; readonly metric: number[]; readonly faithfulness: number[] };
  /** ∫ f d(n/N) by trapezoids over the curve with (0, 0) and (1, 1) added. */
  readonly area: number;
  readonly selected: { readonly size: number; readonly faithfulness: number; readonly reached: boolean };
}

const ERR_INDEX = (m: number) => m; // node index of ε in the 0..m ordering

/**
 * Circuit sizes as node counts in 0..N: "all" → N, larger sizes clipped; sorted, deduplicated.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { circuitSizes } from "@patchbay/readouts";
 *
 * assert.deepEqual(circuitSizes([4, 1, "all", 100], 9), [1, 4, 9]);
 * ```
 */
export const circuitSizes = (sizes: readonly CircuitSize[], N: number): number[] => {
  if (sizes.length === 0)
    throw new InputError({ field: "sizes", expected: "at least one size", found: "[]" });
  const out = sizes.map((s, k) => {
    if (s === "all") return N;
    if (!Number.isInteger(s) || s < 0)
      throw new InputError({ field: `sizes[${k}]`, expected: 'a node count ≥ 0 or "all"', found: String(s) });
    return Math.min(s, N);
  });
  return [...new Set(out)].sort((a, b) => a - b);
};

/**
 * Trapezoid area of f over n/N with (0, f0) and (1, f1) as end points.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { curveArea } from "@patchbay/readouts";
 *
 * assert.equal(curveArea([0, 10], [1, 1], 10), 1); // f = 1 everywhere
 * ```
 */
export const curveArea = (sizes: readonly number[], f: readonly number[], N: number): number => {
  const pts = new Map<number, number>([
    [0, 0],
    [N, 1],
  ]);
  sizes.forEach((n, k) => {
    pts.set(n, f[k]!);
  });
  const xs = [...pts.keys()].sort((a, b) => a - b);
  let area = 0;
  for (let k = 1; k < xs.length; k++)
    area += ((xs[k]! - xs[k - 1]!) / N) * ((pts.get(xs[k]!)! + pts.get(xs[k - 1]!)!) / 2);
  return area;
};

const tile = (b: MetricBinding, k: number): MetricBinding => {
  const rep = <T>(a: readonly T[]): T[] => Array.from({ length: k }, () => a).flat();
  const ref = b.reference;
  return {
    positions: rep(b.positions),
    answers: rep(b.answers),
    ...(b.wrong !== undefined ? { wrong: rep(b.wrong) } : {}),
    ...(ref !== undefined
      ? {
          reference: {
            data: Float32Array.from(rep(Array.from(ref.data as Float32Array))),
            shape: [ref.shape[0]! * k, ...ref.shape.slice(1)],
          },
        }
      : {}),
  };
};

/**
 * A feature circuit: SAE features (and the error term) ranked by attribution or exact patching, faithfulness at growing circuit sizes, and the selected circuit. Returns `{ site, metric, scores, nodeCount, nodes, … }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSessionCache } from "@patchbay/core/runtime";
 * import { inductionModel, inductionTask } from "@patchbay/zoo";
 * import { Effect, Schema } from "effect";
 * import { captureActivations, featureCircuit, FeatureCircuitSpec, SaeTrainSpec, trainSae } from "@patchbay/readouts";
 * const model = inductionModel();
 * const task = inductionTask(0, 4, { blockLen: 4 });
 * const site = "blocks.1.resid_pre";
 * const spec = Schema.decodeUnknownSync(SaeTrainSpec)({ dictSize: 8, steps: 20, batchSize: 16 });
 * const data = { clean: task.clean, corrupted: task.corrupted, metric: { positions: task.positions, answers: task.answers, wrong: task.wrong } };
 * const fc = Schema.decodeUnknownSync(FeatureCircuitSpec)({ metric: { kind: "logit-diff" }, sizes: [1, 4, "all"] });
 * const r = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.flatMap(makeSessionCache("doc", { threads: 1 }), (cache) =>
 *       Effect.gen(function* () {
 *         const acts = yield* captureActivations(cache, model, site, "all", task.clean);
 *         const sae = trainSae(site, acts.data, acts.n, acts.d, spec).sae;
 *         return yield* featureCircuit(cache, model, sae, fc, data);
 *       }),
 *     ),
 *   ),
 * );
 * assert.equal(r.nodeCount, 9); // 8 features and the error term
 * ```
 */
export const featureCircuit = (
  cache: SessionCache,
  model: Model,
  sae: Sae,
  spec: FeatureCircuitSpec,
  data: FeatureAttributionData,
): Effect.Effect<FeatureCircuitResult, InputError | RuntimeError> =>
  Effect.gen(function* () {
    const { d, m, inputScale: c } = sae;
    const N = m + 1;
    const { name, pos, sizes } = yield* attempt(() => {
      const { name, d: dSite } = saeSite(model.config, sae.site, "sae.site");
      if (dSite !== d)
        throw new InputError({
          field: "sae.d",
          expected: `${dSite}, the size of ${name}`,
          found: String(d),
        });
      const sizes = circuitSizes(spec.sizes, N);
      const sel = spec.selection;
      if ("topN" in sel && (!Number.isInteger(sel.topN) || sel.topN < 0))
        throw new InputError({
          field: "selection.topN",
          expected: "a node count ≥ 0",
          found: String(sel.topN),
        });
      if ("faithful" in sel && !(sel.faithful > 0 && sel.faithful <= 1))
        throw new InputError({
          field: "selection.faithful",
          expected: "a target faithfulness in (0, 1]",
          found: String(sel.faithful),
        });
      mustEqualLayout(data.clean, data.corrupted);
      const pos = positionsFor(
        spec.positions,
        data.clean.map((s) => s.length),
      );
      return { name, pos, sizes };
    }, InputError);
    const metric = spec.metric;
    const capture = plan({ captures: [name], metric, logits: false });
    const rc = yield* runPlan(cache, model, capture, data.clean, { metric: data.metric });
    const rk = yield* runPlan(cache, model, capture, data.corrupted, { metric: data.metric });
    const xc = rc.sites.get(name)!; //                                  [B, P, …rest]
    const xk = rk.sites.get(name)!;
    if (xk.data.length !== xc.data.length)
      return yield* new InputError({
        field: "corrupted",
        expected: `prompts of the clean lengths (site ${name} of shape [${xc.shape.join(", ")}])`,
        found: `[${xk.shape.join(", ")}]`,
      });
    const B = xc.shape[0]!;
    const P = xc.shape[1]!;
    const tokens = pos.flatMap((ps, b) => ps.map((p) => (b * P + p) * d)); // row offsets
    // Per token: Δ_i = (f_i(clean) − f_i(corr)) W_dec[:, i]/c is feature i's move from x_corr to
    // x_clean; the error node's move is ε_clean − ε_corr. Store the f's and the error move.
    const { fc, fk, epsDiff } = nodeValues(sae, xc.data, xk.data, tokens);
    /** x_C [B, P, …rest] for a clean-node mask over 0..N−1 (clean elsewhere off the positions). */
    const circuitValue = (clean: Uint8Array, out: Float32Array, outOff: number) => {
      out.set(xc.data as Float32Array, outOff);
      const acc = new Float64Array(d);
      tokens.forEach((off, t) => {
        for (let j = 0; j < d; j++) acc[j] = xk.data[off + j]!;
        for (let i = 0; i < m; i++) {
          if (!clean[i]) continue;
          const df = fc[t * m + i]! - fk[t * m + i]!;
          if (df === 0) continue;
          for (let j = 0; j < d; j++) acc[j]! += (df * sae.decoder[i * d + j]!) / c;
        }
        if (clean[ERR_INDEX(m)]) for (let j = 0; j < d; j++) acc[j]! += epsDiff[t * d + j]!;
        for (let j = 0; j < d; j++) out[outOff + off + j] = acc[j]!;
      });
    };
    const replace = plan({
      interventions: [{ _tag: "replace", target: { site: name } }],
      metric,
      logits: false,
    });
    /** m(C) for each mask, k circuits per engine run (prompts tiled k times, batch-mean per tile). */
    const evaluate = (masks: readonly Uint8Array[]) =>
      Effect.gen(function* () {
        const out: number[] = [];
        for (let s = 0; s < masks.length; s += spec.circuitsPerRun) {
          const group = masks.slice(s, s + spec.circuitsPerRun);
          const k = group.length;
          const value = new Float32Array(k * xc.data.length);
          group.forEach((mask, g) => {
            circuitValue(mask, value, g * xc.data.length);
          });
          const tensor: HostTensor = { data: value, shape: [B * k, ...xc.shape.slice(1)] };
          const prompts = Array.from({ length: k }, () => data.clean).flat();
          const r = yield* runPlan(cache, model, replace, prompts, {
            metric: tile(data.metric, k),
            interventions: [{ value: tensor }],
          });
          const per = r.metric!.perExample;
          for (let g = 0; g < k; g++) {
            let sum = 0;
            for (let b = 0; b < B; b++) sum += per[g * B + b]!;
            out.push(sum / B);
          }
        }
        if (!out.every(Number.isFinite))
          return yield* new InputError({
            field: "metric",
            expected: "finite circuit metrics",
            found: "NaN or ∞",
          });
        return out;
      });
    const full = new Uint8Array(N).fill(1);
    const empty = new Uint8Array(N);

    // Scores over nodes 0..m−1 (features) and m (error).
    const scores = new Float64Array(N);
    let ends: number[];
    if (spec.scores === "exact") {
      // score_j = m(full) − m(full with node j corrupted): N + 2 circuits.
      const masks = [full, empty];
      for (let j = 0; j < N; j++) {
        const mk = new Uint8Array(N).fill(1);
        mk[j] = 0;
        masks.push(mk);
      }
      const ms = yield* evaluate(masks);
      ends = [ms[0]!, ms[1]!];
      for (let j = 0; j < N; j++) scores[j] = ms[0]! - ms[2 + j]!;
    } else {
      const a = yield* featureAttribution(
        cache,
        model,
        sae,
        { positions: spec.positions, metric, top: m, check: 0 },
        data,
      );
      for (const f of a.features) scores[f.feature] = f.score;
      scores[ERR_INDEX(m)] = a.errorScore;
      ends = yield* evaluate([full, empty]);
    }
    const [mFull, mEmpty] = ends as [number, number];
    const order = Array.from({ length: N }, (_, i) => i).sort(
      (a, b) => Math.abs(scores[b]!) - Math.abs(scores[a]!) || a - b,
    );
    const topMask = (n: number) => {
      const mk = new Uint8Array(N);
      for (const i of order.slice(0, n)) mk[i] = 1;
      return mk;
    };
    const sel = spec.selection;
    const topN = "topN" in sel ? Math.min(sel.topN, N) : null;
    const evalSizes = topN !== null && !sizes.includes(topN) ? [...sizes, topN] : sizes;
    const ms = yield* evaluate(evalSizes.map(topMask));
    const denom = mFull - mEmpty;
    const faith = (mc: number) => (denom !== 0 ? (mc - mEmpty) / denom : Number.NaN);
    if (denom === 0 || !Number.isFinite(denom))
      return yield* new InputError({
        field: "data",
        expected: "clean and corrupted prompts whose metric differs (m(full) ≠ m(∅))",
        found: `m(full) = m(∅) = ${mFull}`,
      });
    const curveF = sizes.map((_, k) => faith(ms[k]!));
    let selected: FeatureCircuitResult["selected"];
    if (topN !== null)
      selected = { size: topN, faithfulness: faith(ms[evalSizes.indexOf(topN)]!), reached: true };
    else {
      const target = (sel as { faithful: number }).faithful;
      const k = curveF.findIndex((f) => f >= target);
      selected =
        k >= 0
          ? { size: sizes[k]!, faithfulness: curveF[k]!, reached: true }
          : { size: N, faithfulness: 1, reached: false };
    }
    const rankOf = new Array<number>(N);
    order.forEach((i, r) => {
      rankOf[i] = r + 1;
    });
    return {
      site: name,
      metric: metric.kind,
      scores: spec.scores,
      nodeCount: N,
      nodes: order.map((i) => ({
        node: i === ERR_INDEX(m) ? ("error" as const) : i,
        score: scores[i]!,
        rank: rankOf[i]!,
        inGraph: rankOf[i]! <= selected.size,
      })),
      metricFull: mFull,
      metricEmpty: mEmpty,
      curve: { sizes, metric: sizes.map((_, k) => ms[k]!), faithfulness: curveF },
      area: curveArea(sizes, curveF, N),
      selected,
    };
  });
