import { weightBytes } from "../model/weights.ts";
import { Effect } from "effect";
import * as ort from "onnxruntime-node";
import { type MetricBinding, metricFeeds } from "../engine/bind.ts";
import { METRIC } from "../engine/metric.ts";
import type { MetricKind } from "../engine/spec.ts";
import { attempt, InputError, type RuntimeError } from "../errors/index.ts";
import type { Model } from "../model/index.ts";
import { type Batch, makeBatch } from "../runtime/batch.ts";
import { checkMetric } from "../runtime/finite.ts";
import { runBatch } from "../runtime/forward.ts";
import type { SessionCache } from "../runtime/index.ts";
import type { HostTensor } from "../tensor/index.ts";
import { FROM_RESID } from "../transformer/index.ts";
import { cleanStreams } from "./clean-streams.ts";
import type { EdgeLayout } from "../edges/layout.ts";
import {
  attnSlots,
  blockGraph,
  blockSlots,
  DOWNSTREAM_DELTA,
  DOWNSTREAM_SLOT,
  headGraph,
  plainBlockGraph,
  startLayer,
} from "./downstream.ts";
import { checkAblated } from "./ablated-shape.ts";

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

/**
 * The key prefix of exact patching's sessions in a SessionCache (each block's patching and plain
 * graphs, the head): `cache.evict(EXACT_PATCHING_SESSIONS)` releases them once no more exact runs
 * are due.
 */
export const EXACT_PATCHING_SESSIONS = "downstream:";

/** Rows per run: a row is a forward from its layer on [pos, d] with per-head inputs at one layer. */
const rowsPerRun = (m: Model, P: number): number => {
  const c = m.config;
  const perRow =
    P * (c.dModel * (3 * (c.nHeads + 2 * c.nKvHeads) + 8) + 2 * (c.dMlp ?? 0) + 2 * c.nHeads * P);
  return Math.max(1, Math.floor(MAX_FLOATS / perRow));
};

/** Rows [from, to) of a batch (rows are row-major in every array). */
export const rowRange = (batch: Batch, from: number, to: number): Batch => {
  const P = batch.pos;
  return {
    batch: to - from,
    pos: P,
    lengths: batch.lengths.slice(from, to),
    ids: batch.ids.slice(from * P, to * P),
    positions: batch.positions.slice(from * P, to * P),
    mask: batch.mask.slice(from * P * P, to * P * P),
  };
};

/** Rows `rowsOf` of a binding (examples on the first axis). */
export const tileBinding = (m: MetricBinding, rowsOf: readonly number[]): MetricBinding => {
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
    yield* checkAblated(ablated, N, P, S, d);
    for (const e of edges)
      if (!(Number.isInteger(e) && e >= 0 && e < layout.edges.length))
        return yield* new InputError({
          field: "edges",
          expected: `edge indices in [0, ${layout.edges.length})`,
          found: String(e),
        });
    const L = c.nLayers;
    // Rows (job, example), job −1 the clean run (it starts at the head with Δ = 0), sorted by the
    // layer they start at, so a chunk's rows running at block k are a prefix of it.
    const startOf = (job: number) =>
      job < 0 ? L : startLayer(c, layout.destinations[layout.edges[edges[job]!]!.destination]!);
    const rows: { job: number; b: number; start: number }[] = [];
    for (let b = 0; b < N; b++) rows.push({ job: -1, b, start: L });
    edges.forEach((_, j) => {
      for (let b = 0; b < N; b++) rows.push({ job: j, b, start: startOf(j) });
    });
    rows.sort((x, y) => x.start - y.start);
    // One clean forward: the stream entering every start layer, the last resid_post, and Δ.
    const starts = [...new Set(rows.map((r) => r.start))];
    const { resid: streams, delta } = yield* cleanStreams(cache, model, layout, seqs, ablated, starts);
    const nAttn = attnSlots(c, layout);
    // a destination's slot in its block graph: its index among the layer's attention destinations, or the MLP's
    const slotOf = (v: number): number => {
      const dst = layout.destinations[v]!;
      if (dst.kind === "mlp") return nAttn;
      if (dst.kind === "logits") return 0;
      return v - layout.destinations.findIndex((x) => x.layer === dst.layer && x.kind !== "mlp");
    };
    // per layer: the patching block (rows starting there) and the plain block (rows passing through)
    const lo = Math.min(...starts);
    // each block graph is a small piece of the model; its runs hold activations sized for all of it
    const pieceOf = { arenaBytes: weightBytes(model.weights) };
    const patching = new Map<number, ort.InferenceSession>();
    const plain = new Map<number, ort.InferenceSession>();
    for (let l = lo; l < L; l++) {
      if (starts.includes(l))
        patching.set(
          l,
          yield* cache.get(
            `${EXACT_PATCHING_SESSIONS}${layout.granularity}:block${l}`,
            () => blockGraph(c, model.weights, layout, l),
            pieceOf,
          ),
        );
      if (l > lo)
        plain.set(
          l,
          yield* cache.get(
            `${EXACT_PATCHING_SESSIONS}plain${l}`,
            () => plainBlockGraph(c, model.weights, l),
            pieceOf,
          ),
        );
    }
    const head = yield* cache.get(
      `${EXACT_PATCHING_SESSIONS}${metric}:head`,
      () => headGraph(c, model.weights, metric),
      pieceOf,
    );
    const chunk = maxRows ?? rowsPerRun(model, P);
    const clean = new Float32Array(N);
    const patched = new Float32Array(edges.length * N);
    let runs = 1;
    const run = (session: ort.InferenceSession, values: Record<string, ort.Tensor>, batch: Batch) =>
      runBatch(cache.model, session, batch, values, "exact edge patching");
    for (let first = 0; first < rows.length; first += chunk) {
      const part = rows.slice(first, first + chunk);
      const R = part.length;
      const examples = part.map((r) => r.b);
      const batch = yield* attempt(
        () =>
          makeBatch(
            c,
            examples.map((b) => seqs[b]!),
            "clean",
            cache.options,
          ),
        InputError,
      );
      const pos = batch.pos;
      const keep = Math.min(pos, P);
      let stream = new Float32Array(R * pos * d); //                         each row's current resid
      // rows starting at layer l (l = L: the head) take the clean stream, Δ and their slot
      const enter = (
        l: number,
        from: number,
        to: number,
        into: Float32Array,
        dl: Float32Array,
        slot: Float32Array,
        n: number,
      ) => {
        const resid = streams.get(l)!; //                                                   [N, P, d]
        for (let r = from; r < to; r++) {
          const { job, b, start } = part[r]!;
          if (start !== l) continue;
          const i = r - from;
          into.set(resid.data.subarray(b * P * d, (b * P + keep) * d), i * pos * d);
          if (job < 0) continue;
          const e = layout.edges[edges[job]!]!;
          for (let p = 0; p < keep; p++) {
            const at = ((b * P + p) * S + e.source) * d;
            dl.set(delta.subarray(at, at + d), (i * pos + p) * d);
          }
          slot[i * n + slotOf(e.destination)] = 1;
        }
      };
      for (let l = part[0]!.start; l < L; l++) {
        let A0 = 0; //                       rows [0, A0) pass through block l, [A0, A) start there
        while (A0 < R && part[A0]!.start < l) A0++;
        let A = A0;
        while (A < R && part[A]!.start === l) A++;
        const next = new Float32Array(R * pos * d);
        if (A0 > 0) {
          const out = yield* run(
            plain.get(l)!,
            { [FROM_RESID]: new ort.Tensor("float32", stream.slice(0, A0 * pos * d), [A0, pos, d]) },
            rowRange(batch, 0, A0),
          );
          next.set(out[`blocks.${l}.resid_post`]!.data as Float32Array);
          runs++;
        }
        if (A > A0) {
          const n = blockSlots(c, layout);
          const k = A - A0;
          const input = new Float32Array(k * pos * d);
          const dl = new Float32Array(k * pos * d);
          const slot = new Float32Array(k * n);
          enter(l, A0, A, input, dl, slot, n);
          const out = yield* run(
            patching.get(l)!,
            {
              [FROM_RESID]: new ort.Tensor("float32", input, [k, pos, d]),
              [DOWNSTREAM_DELTA]: new ort.Tensor("float32", dl, [k, pos, d]),
              [DOWNSTREAM_SLOT]: new ort.Tensor("float32", slot, [k, n]),
            },
            rowRange(batch, A0, A),
          );
          next.set(out[`blocks.${l}.resid_post`]!.data as Float32Array, A0 * pos * d);
          runs++;
        }
        stream = next;
      }
      const dl = new Float32Array(R * pos * d);
      const slot = new Float32Array(R);
      enter(L, 0, R, stream, dl, slot, 1);
      const metricValues = yield* attempt(
        () => metricFeeds(c, batch, metric, tileBinding(binding, examples)),
        InputError,
      );
      const out = yield* run(
        head,
        {
          ...metricValues,
          [FROM_RESID]: new ort.Tensor("float32", stream, [R, pos, d]),
          [DOWNSTREAM_DELTA]: new ort.Tensor("float32", dl, [R, pos, d]),
          [DOWNSTREAM_SLOT]: new ort.Tensor("float32", slot, [R, 1]),
        },
        batch,
      );
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
    return { clean, patched, runs };
  });
