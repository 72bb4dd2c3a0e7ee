import { Effect } from "effect";
import * as ort from "onnxruntime-node";
import { type MetricBinding, metricFeeds } from "../engine/bind.ts";
import { METRIC } from "../engine/metric.ts";
import { runPlan } from "../engine/run.ts";
import { type MetricKind, plan } from "../engine/spec.ts";
import { InputError, RuntimeError } from "../errors/index.ts";
import type { Model } from "../model/index.ts";
import { makeBatch } from "../runtime/batch.ts";
import { checkMetric } from "../runtime/finite.ts";
import { feeds } from "../runtime/forward.ts";
import type { SessionCache } from "../runtime/index.ts";
import { type HostTensor, sameShape, shapeString } from "../tensor/index.ts";
import { FROM_RESID } from "../transformer/index.ts";
import { sourceSite } from "../edges/hooks.ts";
import { sourceSites } from "./sources.ts";
import type { EdgeLayout } from "../edges/layout.ts";
import {
  attnSlots,
  DOWNSTREAM_DELTA,
  DOWNSTREAM_SLOT,
  type DownstreamGroup,
  downstreamGraph,
  groupKey,
  groupOf,
  groupStart,
} from "./downstream.ts";

export interface ExactEdgeRun {
  /** the clean metric per example [N] */
  readonly clean: Float32Array;
  /** the metric with edges[j] alone ablated, per example [edges·N] (edge-major) */
  readonly patched: Float32Array;
  /** session runs */
  readonly runs: number;
}

/** Floats one run's rows may hold (1 GiB). */
const MAX_FLOATS = 256 * 1024 * 1024;

/** Rows per run: a row is a forward from its layer on [pos, d] with per-head inputs at one layer. */
const rowsPerRun = (m: Model, P: number): number => {
  const c = m.config;
  const perRow =
    P * (c.dModel * (3 * (c.nHeads + 2 * c.nKvHeads) + 8) + 2 * (c.dMlp ?? 0) + 2 * c.nHeads * P);
  return Math.max(1, Math.floor(MAX_FLOATS / perRow));
};

/** Rows `rowsOf` of a binding (examples on the first axis). */
const tileBinding = (m: MetricBinding, rowsOf: readonly number[]): MetricBinding => {
  const pick = <A>(xs: readonly A[]) => rowsOf.map((b) => xs[b]!);
  const ref = m.reference;
  return {
    positions: pick(m.positions),
    answers: pick(m.answers),
    ...(m.wrong !== undefined ? { wrong: pick(m.wrong) } : {}),
    ...(ref !== undefined ? { reference: tile(ref, rowsOf) } : {}),
  };
};

const tile = (t: HostTensor, rowsOf: readonly number[]): HostTensor => {
  const per = t.data.length / t.shape[0]!;
  const out = new Float32Array(rowsOf.length * per);
  rowsOf.forEach((b, r) => {
    out.set(t.data.subarray(b * per, (b + 1) * per), r * per);
  });
  return { data: out, shape: [rowsOf.length, ...t.shape.slice(1)] };
};

/**
 * Exact single-edge patching from the destination's layer onwards (downstream.ts): one clean
 * forward caches the residual stream every group starts from and every source's clean output;
 * then each (edge, example) row runs only the layers after its destination, rows batched by
 * destination group. `ablated` is z′ [N, pos, S, d] (ablatedSources). Returns the clean metric
 * and each edge's patched metric per example: the same numbers as the edge-masked graph with one
 * zero in the mask, at a fraction of the cost.
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
 *       const binding = { positions: task.positions, answers: task.answers, wrong: task.wrong };
 *       const edge = layout.edges.find((e) => e.name === "a1.h2->logits")!.index;
 *       return yield* Patching.exactEdgePatching(model.sessions, model, layout, "logit-diff", task.clean, zPrime, binding, [edge]);
 *     }),
 *   ),
 * );
 * assert.equal(r.patched.length, 2); // one edge × 2 examples
 * assert.ok(r.patched[0]! < r.clean[0]!); // cutting the induction head's output lowers the logit difference
 * ```
 */
export const exactEdgePatching = (
  cache: SessionCache,
  model: Model,
  layout: EdgeLayout,
  metric: MetricKind,
  seqs: readonly (readonly number[])[],
  ablated: HostTensor,
  binding: MetricBinding,
  edges: readonly number[],
  maxRows?: number,
): Effect.Effect<ExactEdgeRun, InputError | RuntimeError> =>
  Effect.gen(function* () {
    const c = model.config;
    const N = seqs.length;
    const P = Math.max(...seqs.map((s) => s.length));
    const S = layout.sources.length;
    const d = c.dModel;
    const want = [N, P, S, d];
    if (!sameShape(ablated.shape, want))
      return yield* new InputError({
        field: "ablated",
        expected: `shape ${shapeString(want)} [examples, pos, sources, d_model]`,
        found: shapeString(ablated.shape),
      });
    for (const e of edges)
      if (!(Number.isInteger(e) && e >= 0 && e < layout.edges.length))
        return yield* new InputError({
          field: "edges",
          expected: `edge indices in [0, ${layout.edges.length})`,
          found: String(e),
        });
    // Destination groups in use, and what one clean forward must capture for them.
    const groups = new Map<string, { group: DownstreamGroup; jobs: number[] }>();
    groups.set("logits", { group: { kind: "logits" }, jobs: [] }); // the clean metric reads it
    edges.forEach((e, j) => {
      const group = groupOf(layout.destinations[layout.edges[e]!.destination]!);
      const key = groupKey(group);
      if (!groups.has(key)) groups.set(key, { group, jobs: [] });
      groups.get(key)!.jobs.push(j);
    });
    const startSite = (g: DownstreamGroup) => {
      const s = groupStart(c, g);
      return `blocks.${s.layer}.${s.site}`;
    };
    const captures = [
      ...new Set([...[...groups.values()].map((x) => startSite(x.group)), ...sourceSites(layout)]),
    ];
    const cleanRun = yield* runPlan(cache, model, plan({ captures, logits: false }), seqs);
    // Δ_u = z_u − z′_u [N, P, S, d]
    const delta = new Float32Array(ablated.data.length);
    layout.sources.forEach((_, s) => {
      const { site, head } = sourceSite(layout, s);
      const z = cleanRun.sites.get(site)!;
      const H = head === null ? 1 : z.shape[2]!;
      for (let i = 0; i < N * P; i++) {
        const from = (i * H + (head ?? 0)) * d;
        const to = (i * S + s) * d;
        for (let k = 0; k < d; k++) delta[to + k] = z.data[from + k]! - ablated.data[to + k]!;
      }
    });
    const chunk = maxRows ?? rowsPerRun(model, P);
    const n = attnSlots(c, layout);
    // a destination's slot among its layer's attention destinations (q heads, then k, then v)
    const slotOf = (v: number): number => {
      const l = layout.destinations[v]!.layer;
      return v - layout.destinations.findIndex((x) => x.layer === l && x.kind === "q");
    };
    const clean = new Float32Array(N);
    const patched = new Float32Array(edges.length * N);
    let runs = 0;
    for (const [key, { group, jobs }] of groups) {
      const resid = cleanRun.sites.get(startSite(group))!; //                           [N, P, d]
      const session = yield* cache.get(`downstream:${layout.granularity}:${metric}:${key}`, () =>
        downstreamGraph(c, model.weights, layout, metric, group),
      );
      // rows: (job, example); job −1 is the clean run (logits group only, Δ = 0)
      const rows: { job: number; b: number }[] = [];
      if (key === "logits") for (let b = 0; b < N; b++) rows.push({ job: -1, b });
      for (const j of jobs) for (let b = 0; b < N; b++) rows.push({ job: j, b });
      for (let start = 0; start < rows.length; start += chunk) {
        const part = rows.slice(start, start + chunk);
        const R = part.length;
        const examples = part.map((r) => r.b);
        const bound = yield* Effect.try({
          try: () => {
            const batch = makeBatch(
              c,
              examples.map((b) => seqs[b]!),
              "clean",
              cache.options,
            );
            const pos = batch.pos;
            const from = new Float32Array(R * pos * d);
            const dl = new Float32Array(R * pos * d);
            const slot = new Float32Array(R * n);
            const keep = Math.min(pos, P);
            part.forEach(({ job, b }, r) => {
              from.set(resid.data.subarray(b * P * d, (b * P + keep) * d), r * pos * d);
              if (job < 0) return;
              const e = layout.edges[edges[job]!]!;
              for (let p = 0; p < keep; p++)
                dl.set(
                  delta.subarray(((b * P + p) * S + e.source) * d, ((b * P + p) * S + e.source + 1) * d),
                  (r * pos + p) * d,
                );
              if (n > 1) slot[r * n + slotOf(e.destination)] = 1;
            });
            const values: Record<string, ort.Tensor> = {
              ...metricFeeds(c, batch, metric, tileBinding(binding, examples)),
              [FROM_RESID]: new ort.Tensor("float32", from, [R, pos, d]),
              [DOWNSTREAM_DELTA]: new ort.Tensor("float32", dl, [R, pos, d]),
              [DOWNSTREAM_SLOT]: new ort.Tensor("float32", slot, [R, n]),
            };
            const names = session.inputNames;
            const base = feeds(
              batch,
              names.filter((x) => !(x in values)),
            );
            return {
              ...base,
              ...Object.fromEntries(names.filter((x) => x in values).map((x) => [x, values[x]!])),
            };
          },
          catch: (e) => e as InputError,
        });
        const out = yield* Effect.tryPromise({
          try: () => session.run(bound),
          catch: (cause) => new RuntimeError({ model: cache.model, operation: "exact edge patching", cause }),
        });
        runs++;
        const perExample = out[METRIC]!.data as Float32Array;
        const mean = perExample.reduce((a, x) => a + x, 0) / perExample.length;
        const bad = checkMetric(cache.model, "exact edge patching", perExample, mean);
        if (bad !== null) return yield* bad;
        part.forEach(({ job, b }, r) => {
          if (job < 0) clean[b] = perExample[r]!;
          else patched[job * N + b] = perExample[r]!;
        });
      }
    }
    return { clean, patched, runs: runs + 1 };
  });
