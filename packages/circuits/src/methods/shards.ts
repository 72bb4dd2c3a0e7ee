import { attempt, InputError, type RuntimeError } from "@patchbay/core/errors";
import { Effect } from "effect";
import { exactScores } from "./exact.ts";
import { nodePatchingOf, type PathSpec, pathPatching } from "./patching.ts";
import type { EdgeSetup } from "./setup.ts";

/**
 * Sharding the exact methods: their units (exact patching's edges, node patching's source nodes,
 * path patching's paths) are independent, so `of` shards each score a contiguous range of them
 * and the merge lays the ranges side by side. A shard is data — the method, its index and the
 * number of shards — so a queue can carry it and a store can key it (experiments/src/shards).
 *
 * Exactness: a shard runs the very function the unsharded method runs (exactScores on its edges,
 * node patching on its sources, pathPatching on its paths), with its own clean rows, so how its
 * rows are batched depends only on the shard, never on who computes it: the same shard gives the
 * same float bits in any process. A sharded run (local or distributed) is the merge of its shards.
 */
export type ShardMethod =
  | { readonly _tag: "exact" }
  | { readonly _tag: "node-patching" }
  | { readonly _tag: "path-patching"; readonly paths: readonly PathSpec[] };

/** The methods that shard (ACDC's receivers depend on each other: not one of them). */
export const SHARDED_METHODS = ["exact", "node-patching", "path-patching"] as const;

/** One shard's scores: units [from, to) of `units`. */
export interface ShardScores {
  readonly index: number;
  readonly of: number;
  readonly units: number;
  readonly from: number;
  readonly to: number;
  /** [to − from] exact: the edge's score (loss units); node and path patching: the metric's change */
  readonly scores: Float64Array;
  readonly runs: number;
}

/**
 * The units [from, to) of shard `index` of `of` over `units` units: contiguous, in order, sizes
 * differing by at most one. A shard that would be empty, or an index outside [0, of), is an InputError.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { shardRange } from "@patchbay/circuits";
 *
 * assert.deepEqual(shardRange(10, 0, 3), [0, 3]);
 * assert.deepEqual(shardRange(10, 2, 3), [6, 10]);
 * assert.throws(() => shardRange(2, 0, 3), /InputError|shards/);
 * ```
 */
export const shardRange = (units: number, index: number, of: number): readonly [number, number] => {
  if (!Number.isInteger(of) || of < 1 || of > units)
    throw new InputError({
      field: "shards",
      expected: `a whole number of shards in [1, ${units}] (one unit at least per shard)`,
      found: String(of),
    });
  if (!Number.isInteger(index) || index < 0 || index >= of)
    throw new InputError({
      field: "shard",
      expected: `a shard index in [0, ${of})`,
      found: String(index),
    });
  return [Math.floor((index * units) / of), Math.floor(((index + 1) * units) / of)];
};

/**
 * How many units a sharded method scores on this setup: edges, source nodes or paths.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { prepareEdges, shardUnits } from "@patchbay/circuits";
 * import { makeSessionCache } from "@patchbay/core/runtime";
 * import { inductionModel, inductionTask } from "@patchbay/zoo";
 * import { Effect } from "effect";
 *
 * const model = inductionModel({ attnLogit: 4 }); // the compiled induction model: 81 edges, 9 sources
 * const task = { ...inductionTask(1, 4, { blockLen: 8 }), ablation: "resample", metric: "logit-diff" } as const;
 * const n = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.gen(function* () {
 *       const setup = yield* prepareEdges(yield* makeSessionCache("doc", { threads: 1 }), model, task);
 *       return [shardUnits(setup, { _tag: "exact" }), shardUnits(setup, { _tag: "node-patching" })];
 *     }),
 *   ),
 * );
 * assert.deepEqual(n, [81, 9]);
 * ```
 */
export const shardUnits = (setup: Pick<EdgeSetup, "layout">, method: ShardMethod): number =>
  method._tag === "exact"
    ? setup.layout.edges.length
    : method._tag === "node-patching"
      ? setup.layout.sources.length
      : method.paths.length;

/** The method's tag, or an InputError naming it when it does not shard. */
const shardable = (method: { readonly _tag: string }): InputError | null =>
  (SHARDED_METHODS as readonly string[]).includes(method._tag)
    ? null
    : new InputError({
        field: "method",
        expected: `a method that shards: ${SHARDED_METHODS.join(", ")} (ACDC's receivers depend on each other)`,
        found: JSON.stringify(method._tag),
      });

/**
 * Score shard `index` of `of`: the method's own function on the shard's units.
 *
 * Returns ShardScores `{ index, of, units, from, to, scores, runs }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { prepareEdges, scoreShard } from "@patchbay/circuits";
 * import { makeSessionCache } from "@patchbay/core/runtime";
 * import { inductionModel, inductionTask } from "@patchbay/zoo";
 * import { Effect } from "effect";
 *
 * const model = inductionModel({ attnLogit: 4 }); // the compiled induction model: 9 sources
 * const task = { ...inductionTask(1, 4, { blockLen: 8 }), ablation: "resample", metric: "logit-diff" } as const;
 * const s = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.gen(function* () {
 *       const setup = yield* prepareEdges(yield* makeSessionCache("doc", { threads: 1 }), model, task);
 *       return yield* scoreShard(setup, { _tag: "node-patching" }, 1, 3);
 *     }),
 *   ),
 * );
 * assert.deepEqual([s.from, s.to, s.scores.length], [3, 6, 3]);
 * ```
 */
export const scoreShard = (
  setup: EdgeSetup,
  method: ShardMethod,
  index: number,
  of: number,
): Effect.Effect<ShardScores, InputError | RuntimeError> =>
  Effect.gen(function* () {
    const bad = shardable(method);
    if (bad !== null) return yield* bad;
    const units = shardUnits(setup, method);
    const [from, to] = yield* attempt(() => shardRange(units, index, of), InputError);
    const shard = (scores: Float64Array, runs: number): ShardScores => ({
      index,
      of,
      units,
      from,
      to,
      scores,
      runs,
    });
    if (method._tag === "exact") {
      const ids = Array.from({ length: to - from }, (_, i) => from + i);
      const r = yield* exactScores(setup, ids);
      return shard(r.scores.slice(from, to), r.runs);
    }
    if (method._tag === "node-patching") {
      const r = yield* nodePatchingOf(setup, from, to);
      return shard(r.effects, r.runs);
    }
    const r = yield* pathPatching(setup, method.paths.slice(from, to));
    return shard(r.effects, r.runs);
  });

/**
 * The shards of one run laid side by side: `shards[i]` must be shard i of `shards.length` over
 * the same units, with its whole range; anything else is an InputError naming the shard.
 *
 * Returns the scores [units] in unit order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mergeShards } from "@patchbay/circuits";
 *
 * const a = { index: 0, of: 2, units: 3, from: 0, to: 1, scores: Float64Array.of(1), runs: 1 };
 * const b = { index: 1, of: 2, units: 3, from: 1, to: 3, scores: Float64Array.of(2, 3), runs: 1 };
 * assert.deepEqual([...mergeShards([a, b])], [1, 2, 3]);
 * assert.throws(() => mergeShards([b, a]), /shard/);
 * ```
 */
export const mergeShards = (shards: readonly ShardScores[]): Float64Array => {
  const of = shards.length;
  const units = shards[0]?.units ?? 0;
  const out = new Float64Array(units);
  shards.forEach((s, i) => {
    const [from, to] = shardRange(units, i, of);
    if (s.index !== i || s.of !== of || s.units !== units || s.from !== from || s.to !== to)
      throw new InputError({
        field: `shards[${i}]`,
        expected: `shard ${i} of ${of} over ${units} units: [${from}, ${to})`,
        found: `shard ${s.index} of ${s.of} over ${s.units} units: [${s.from}, ${s.to})`,
      });
    if (s.scores.length !== to - from)
      throw new InputError({
        field: `shards[${i}].scores`,
        expected: `${to - from} scores`,
        found: String(s.scores.length),
      });
    out.set(s.scores, from);
  });
  return out;
};

/**
 * Score every shard in turn (each through `store`, which may return it from where it was kept, or
 * run `compute` and keep it), then merge: the local run of a sharded method. A distributed run
 * computes the same shards elsewhere into the same store, so this finds them all and computes none.
 *
 * Returns `{ scores, runs }`, scores [units] in unit order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { prepareEdges, scoreSharded } from "@patchbay/circuits";
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
 *       return yield* scoreSharded(setup, { _tag: "exact" }, 4);
 *     }),
 *   ),
 * );
 * assert.equal(r.scores.length, 81);
 * assert.ok(r.scores.every(Number.isFinite));
 * ```
 */
export const scoreSharded = <E = never>(
  setup: EdgeSetup,
  method: ShardMethod,
  of: number,
  store: ShardStore<E> = (_, compute) => compute,
): Effect.Effect<{ readonly scores: Float64Array; readonly runs: number }, InputError | RuntimeError | E> =>
  Effect.gen(function* () {
    const shards: ShardScores[] = [];
    for (let i = 0; i < of; i++) shards.push(yield* store(i, scoreShard(setup, method, i, of)));
    const scores = yield* attempt(() => mergeShards(shards), InputError);
    return { scores, runs: shards.reduce((a, s) => a + s.runs, 0) };
  });

/** Where a sharded run keeps its shards: shard `index`, or `compute` run (and, by a store, kept). */
export type ShardStore<E = never> = (
  index: number,
  compute: Effect.Effect<ShardScores, InputError | RuntimeError>,
) => Effect.Effect<ShardScores, InputError | RuntimeError | E>;
