import { Effect } from "effect";
import type * as ort from "onnxruntime-node";
import { EDGE_DELTAS, edgeStreamOutput } from "../edges/hooks.ts";
import type { EdgeLayout } from "../edges/layout.ts";
import type { MetricBinding } from "../engine/bind.ts";
import type { MetricKind } from "../engine/spec.ts";
import { InputError, type RuntimeError } from "../errors/index.ts";
import type { Model, ModelConfig } from "../model/index.ts";
import type { SessionCache } from "../runtime/index.ts";
import { type HostTensor, sameShape, shapeString } from "../tensor/index.ts";
import { type CleanStreams, cleanStreams } from "./clean-streams.ts";
import { startLayer } from "./downstream.ts";
import { badEntry, runMasksFrom, runShape } from "./masked-from.ts";
import { checkAblated } from "./ablated-shape.ts";

/**
 * The edge-masked model's state under one mask: the stream entering every layer 0..nLayers
 * (nLayers: the last resid_post) and every source's Δ = z^M − z′ [N, P, S, d], as the run of
 * that mask computes them. A mask that changes only edges into destinations at layer L or later
 * leaves everything upstream of L as it is, so its run starts at L from this state (the sources
 * before L one Δ per example) and returns the next state: the explorer's clicks. The clean run is
 * the state of the all-ones mask (what ACDC starts every layer from, evaluateMasksFrom).
 */
export interface MaskedState {
  /** [S·D], the mask the streams are the run of */
  readonly mask: Float32Array;
  readonly streams: CleanStreams;
}

/**
 * The state of the all-ones mask: one clean forward capturing every layer's stream and every
 * source (cleanStreams).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Edges, Patching, Runtime } from "@patchbay/core";
 * import { inductionTask } from "@patchbay/zoo";
 * import { Effect } from "effect";
 *
 * const task = inductionTask(0, 2);
 * const state = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.gen(function* () {
 *       const model = yield* Runtime.openModel("builtin:induction");
 *       const layout = Edges.edgeLayout(model.config);
 *       const zPrime = yield* Patching.ablatedSources(model.sessions, model, layout, "resample", task.clean, {
 *         corrupted: task.corrupted,
 *       });
 *       return yield* Patching.cleanState(model.sessions, model, layout, task.clean, zPrime);
 *     }),
 *   ),
 * );
 * assert.ok(state.mask.every((m) => m === 1)); // every edge kept
 * assert.deepEqual([...state.streams.resid.keys()], [0, 1, 2]); // the stream entering each layer, and the last
 * ```
 */
export const cleanState = (
  cache: SessionCache,
  model: Model,
  layout: EdgeLayout,
  seqs: readonly (readonly number[])[],
  ablated: HostTensor,
): Effect.Effect<MaskedState, InputError | RuntimeError> =>
  Effect.map(
    cleanStreams(
      cache,
      model,
      layout,
      seqs,
      ablated,
      Array.from({ length: model.config.nLayers + 1 }, (_, l) => l),
    ),
    (streams) => ({
      mask: new Float32Array(layout.sources.length * layout.destinations.length).fill(1),
      streams,
    }),
  );

/**
 * The layer a run of `mask` from a state under `base` must start at: the lowest layer of a
 * destination whose column differs (nLayers: only edges into the logits, or none, differ).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Edges, Patching, Weights } from "@patchbay/core";
 * import "@patchbay/zoo";
 * import { Effect } from "effect";
 *
 * const model = await Effect.runPromise(Weights.loadModel("builtin:induction"));
 * const layout = Edges.edgeLayout(model.config);
 * const D = layout.destinations.length;
 * const base = new Float32Array(layout.sources.length * D).fill(1);
 * const mask = Float32Array.from(base);
 * assert.equal(Patching.maskedStart(model.config, layout, base, mask), 2); // nothing changed: the logits alone
 * const e = layout.edges.find((x) => x.name === "a0.h1->a1.h2<k>")!;
 * mask[e.source * D + e.destination] = 0;
 * assert.equal(Patching.maskedStart(model.config, layout, base, mask), 1); // an edge into layer 1
 * ```
 */
export const maskedStart = (
  c: ModelConfig,
  layout: EdgeLayout,
  base: Float32Array,
  mask: Float32Array,
): number => {
  const D = layout.destinations.length;
  let layer = c.nLayers;
  for (const e of layout.edges) {
    const i = e.source * D + e.destination;
    if (base[i] !== mask[i]) layer = Math.min(layer, startLayer(c, layout.destinations[e.destination]!));
  }
  return layer;
};

/**
 * A run's state outputs for examples [b0, b0 + e) (pos positions) into the next state: the
 * streams it computed, and every source's Δ, taken as is when the run held every example at
 * the task's positions (no copy), else copied row by row.
 */
const takeStreams = (
  out: ort.InferenceSession.OnnxValueMapType,
  c: ModelConfig,
  layer: number,
  next: { resid: Map<number, HostTensor>; delta: Float32Array; owned: boolean },
  N: number,
  P: number,
  b0: number,
  e: number,
  pos: number,
) => {
  const d = c.dModel;
  const keep = Math.min(pos, P);
  for (let l = layer + 1; l <= c.nLayers; l++) {
    const z = out[edgeStreamOutput(l)]!.data as Float32Array; // [e, pos, d]
    const to = next.resid.get(l)!.data;
    for (let i = 0; i < e; i++) to.set(z.subarray(i * pos * d, (i * pos + keep) * d), (b0 + i) * P * d);
  }
  if (layer === c.nLayers) return; //                                        no source computed
  const deltas = out[EDGE_DELTAS]!.data as Float32Array; //                   [e, pos, S, d]
  if (e === N && pos === P) {
    next.delta = deltas;
    next.owned = true;
  } else {
    if (!next.owned) {
      next.delta = next.delta.slice(); // the previous state's stays as it was
      next.owned = true;
    }
    const per = deltas.length / (e * pos); //                                    S·d
    for (let i = 0; i < e; i++)
      next.delta.set(deltas.subarray(i * pos * per, (i * pos + keep) * per), (b0 + i) * P * per);
  }
};

/**
 * The metric of `mask` on every example, run from layer `layer` of `state` (every edge into a
 * destination before `layer` as in state.mask, else an InputError naming the edge; maskedStart
 * gives the latest such layer), and the state under `mask`: upstream of `layer` the state's
 * streams, downstream the run's own. Equals the full edge-masked graph on `mask` (to float
 * rounding), however many steps led to `state`. One mask, all examples, rows as
 * evaluateMasksFrom's; the graph from each layer is a session of `cache` (key
 * `masked-from-streams:…`), compiled on first use.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Edges, Patching, Runtime } from "@patchbay/core";
 * import { inductionTask } from "@patchbay/zoo";
 * import { Effect } from "effect";
 *
 * const task = inductionTask(0, 2);
 * const binding = { positions: task.positions, answers: task.answers, wrong: task.wrong };
 * const [cut, back] = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.gen(function* () {
 *       const model = yield* Runtime.openModel("builtin:induction");
 *       const layout = Edges.edgeLayout(model.config);
 *       const zPrime = yield* Patching.ablatedSources(model.sessions, model, layout, "resample", task.clean, {
 *         corrupted: task.corrupted,
 *       });
 *       const clean = yield* Patching.cleanState(model.sessions, model, layout, task.clean, zPrime);
 *       const step = (state: Patching.MaskedState, mask: Float32Array) =>
 *         Patching.stepMaskFrom(model.sessions, model, layout, "logit-diff", task.clean, state, zPrime, binding,
 *           Patching.maskedStart(model.config, layout, state.mask, mask), mask);
 *       const D = layout.destinations.length;
 *       const e = layout.edges.find((x) => x.name === "a0.h1->a1.h2<k>")!;
 *       const mask = Float32Array.from(clean.mask);
 *       mask[e.source * D + e.destination] = 0; // take the induction head's key edge out: a run from layer 1
 *       const cut = yield* step(clean, mask);
 *       const back = yield* step(cut.state, clean.mask); // and put it back
 *       return [cut, back];
 *     }),
 *   ),
 * );
 * assert.ok(cut.perExample[0]! < back.perExample[0]! - 1); // the edge carries the induction
 * ```
 */
export const stepMaskFrom = (
  cache: SessionCache,
  model: Model,
  layout: EdgeLayout,
  metric: MetricKind,
  seqs: readonly (readonly number[])[],
  state: MaskedState,
  ablated: HostTensor,
  binding: MetricBinding,
  layer: number,
  mask: Float32Array,
  maxRows?: number,
): Effect.Effect<
  { readonly perExample: Float32Array; readonly state: MaskedState },
  InputError | RuntimeError
> =>
  Effect.gen(function* () {
    const c = model.config;
    const { N, P, S, D, d } = runShape(c, layout, seqs);
    yield* checkAblated(ablated, N, P, S, d);
    const layers = Array.from({ length: c.nLayers + 1 }, (_, l) => l);
    if (
      state.mask.length !== S * D ||
      state.streams.delta.length !== N * P * S * d ||
      !layers.every((l) => sameShape(state.streams.resid.get(l)?.shape ?? [], [N, P, d]))
    )
      return yield* new InputError({
        field: "state",
        expected: `a mask of S·D = ${S * D} entries, the streams entering layers 0..${c.nLayers} [${N}, ${P}, ${d}] and Δ [${shapeString([N, P, S, d])}]`,
        found: `a mask of ${state.mask.length}, streams of layers ${[...state.streams.resid.keys()].join(", ")}`,
      });
    if (!(Number.isInteger(layer) && layer >= 0 && layer <= c.nLayers))
      return yield* new InputError({
        field: "layer",
        expected: `a start layer in [0, ${c.nLayers}]`,
        found: String(layer),
      });
    const bad =
      mask.length === S * D ? badEntry(c, layout, mask, layer, state.mask) : `${mask.length} entries`;
    if (bad !== null)
      return yield* new InputError({
        field: "mask",
        expected: `S·D = ${S * D} entries in [0, 1], equal to the state's on every edge into a destination before layer ${layer}`,
        found: bad,
      });
    const next = {
      resid: new Map(
        layers.map((l) => {
          const t = state.streams.resid.get(l)!;
          return [l, l > layer ? { data: t.data.slice(), shape: t.shape } : t] as const;
        }),
      ),
      // every source's Δ: the state's until the run returns its own (takeStreams)
      delta: state.streams.delta,
      owned: false,
    };
    const r = yield* runMasksFrom(
      cache,
      model,
      layout,
      metric,
      seqs,
      state.streams,
      ablated,
      binding,
      layer,
      [mask],
      maxRows,
      (out, b0, e, pos) => takeStreams(out, c, layer, next, N, P, b0, e, pos),
    );
    return {
      perExample: r.perExample,
      state: { mask: mask.slice(), streams: { resid: next.resid, delta: next.delta } },
    };
  });
