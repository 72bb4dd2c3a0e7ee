import type { EdgeLayout } from "@patchbay/core/edges";
import { type ConfigError, InputError, type RuntimeError } from "@patchbay/core/errors";
import { mulberry32 } from "@patchbay/core/model";
import { Effect } from "effect";
import { prune } from "../select/index.ts";
import {
  ACDC_CHECKPOINT_FORMAT,
  type AcdcCheckpoint,
  checkpointHashes,
  readCheckpoint,
  writeCheckpoint,
} from "./acdc-checkpoint.ts";
import { downstreamRows, type MaskRows, rowsInParts } from "./acdc-rows.ts";
import { maskFromEdges } from "./masks.ts";
import { higherIsBetter, type EdgeSetup } from "./setup.ts";

/**
 * ACDC (Conmy et al. 2023), as published: H ← the full graph; visit receivers in reverse
 * topological order starting at the logits; for each receiver v still connected to the logits and
 * each parent edge w→v still in H,
 *   Δ = m(H \ {w→v}) − m(H)   and if Δ < τ remove the edge; the new H is the next baseline.
 * m is the task's metric, read as a loss: KL and cross-entropy as they are, task metrics where
 * higher is better (logit-diff, logprob, …) negated, so Δ is always "how much worse". With
 * `absolute`, Δ = |m(H \ {w→v}) − m(H)|.
 *
 * Same decisions, fewer runs: the next parents of a receiver (up to `speculate`) are tested in
 * one batched run, either as single removals from the current H (exact up to and including the
 * first removal) or, when removals have been the rule, as a chain H∖{c1}, H∖{c1,c2}, … (exact up
 * to and including the first keep); every decision is taken against the H the serial algorithm
 * would have seen, and the rest are retested.
 * Receivers cut off from the logits are skipped, as in ACDC; the edges still leading into them are
 * pruned at the end (select/prune: edges off every input → logits path). Every edge still gets
 * a score: for an edge into a skipped receiver, Δ = m(H ∖ {w→v}) − m(H) is 0 without a run, since
 * nothing v writes reaches the logits in H (then and in every later, smaller H), which is why ACDC
 * skips it; `tested` tells measured Δs from these.
 * `forwardPasses` counts every mask evaluated (what a serial implementation runs, plus the
 * speculative misses); `serialTests` the edge tests the serial algorithm makes. Each mask runs
 * only downstream of its receiver's layer, from the cached clean stream (acdc-rows.ts).
 */
export interface AcdcOptions {
  readonly tau: number;
  /** Parent order per receiver: by source index, reversed, or seeded-random. Record it. */
  readonly order?: "normal" | "reverse" | "random";
  readonly seed?: number;
  readonly absolute?: boolean;
  /** Parents tested per batched run (default 16). 1 is the serial algorithm. */
  readonly speculate?: number;
  /**
   * A checkpoint file: written atomically after every finished receiver, and resumed from when it
   * exists (a run for another model, task or options is refused: ConfigError naming what differs).
   * The resumed run's result is byte-identical to an uninterrupted one.
   */
  readonly checkpoint?: string;
  /**
   * Evaluate each speculative batch in this many parts (contiguous groups of masks, each in its
   * own runs; default 1), so that several workers can share one batch (`acdc`'s `rows`). The row
   * grouping moves the metric in the last float bit, so the split is part of the run's identity
   * (checkpoint options), and the same split gives the same bits wherever its parts run.
   */
  readonly split?: number;
  /** Interrupt the run after this many receivers' checkpoints are written (tests of resumption). */
  readonly stopAfterReceivers?: number;
}

export interface AcdcResult {
  readonly method: "acdc";
  readonly tau: number;
  readonly order: "normal" | "reverse" | "random";
  /** [E] 1 for edges kept, pruned to edges on an input → logits path */
  readonly inGraph: Uint8Array;
  /** [E] what the sweep left before pruning (edges into receivers it skipped stay in) */
  readonly unpruned: Uint8Array;
  /**
   * [E] Δ when the edge was tested; 0 for edges into receivers already cut off from the logits
   * when ACDC reached them (their Δ against that H, and against the final one, is 0 exactly)
   */
  readonly deltas: Float64Array;
  /** [E] 1 where Δ was measured by a run, 0 where the receiver was cut off (Δ = 0) */
  readonly tested: Uint8Array;
  readonly runs: number;
  readonly forwardPasses: number;
  readonly serialTests: number;
  /** metric of the full graph and of the final circuit */
  readonly full: number;
  readonly final: number;
}

/**
 * Which sources each destination feeds (q/k/v: its head(s); mlp: m{l}; logits: none).
 *
 * Returns, per destination index, the source indices it feeds.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fedSources } from "@patchbay/circuits";
 * import { edgeLayout } from "@patchbay/core/edges";
 * import { inductionModel } from "@patchbay/zoo";
 *
 * const layout = edgeLayout(inductionModel().config);
 * const fed = fedSources(layout);
 * const q = layout.destinations.findIndex((d) => d.name === "a1.h2<q>");
 * assert.deepEqual(fed[q]!.map((s) => layout.sources[s]!.name), ["a1.h2"]);
 * ```
 */
export const fedSources = (layout: EdgeLayout): number[][] => {
  const byName = new Map(layout.sources.map((s) => [s.name, s.index]));
  const heads = layout.sources.filter((s) => s.kind === "head");
  return layout.destinations.map((d) => {
    if (d.kind === "logits") return [];
    if (d.kind === "q") return [byName.get(`a${d.layer}.h${d.head}`)!];
    if (d.kind === "k" || d.kind === "v") {
      const H = heads.filter((s) => s.layer === d.layer).length;
      const kv = layout.destinations.filter((x) => x.layer === d.layer && x.kind === "k").length;
      const G = H / kv;
      return heads
        .filter((s) => s.layer === d.layer && Math.floor(s.head! / G) === d.head)
        .map((s) => s.index);
    }
    return [byName.get(d.node)!];
  });
};

/**
 * Destinations whose component still reaches the logits through edges of H.
 *
 * Returns one byte per destination of the layout.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { connectedToLogits } from "@patchbay/circuits";
 * import { edgeLayout } from "@patchbay/core/edges";
 * import { inductionModel } from "@patchbay/zoo";
 *
 * const layout = edgeLayout(inductionModel().config);
 * const none = connectedToLogits(layout, new Uint8Array(layout.edges.length));
 * const logits = layout.destinations.findIndex((d) => d.name === "logits");
 * assert.equal(none[logits], 1); // the logits always reach themselves
 * assert.equal(none.reduce((a, b) => a + b, 0), 1); // and nothing else does without edges
 * ```
 */
export const connectedToLogits = (
  layout: EdgeLayout,
  inGraph: ArrayLike<number>,
  fed = fedSources(layout),
) => {
  const alive = new Uint8Array(layout.destinations.length);
  const sourceAlive = new Uint8Array(layout.sources.length);
  const byDest = incoming(layout);
  for (let v = layout.destinations.length - 1; v >= 0; v--) {
    const d = layout.destinations[v]!;
    alive[v] = d.kind === "logits" || fed[v]!.some((s) => sourceAlive[s]) ? 1 : 0;
    if (alive[v]) for (const e of byDest[v]!) if (inGraph[e]) sourceAlive[layout.edges[e]!.source] = 1;
  }
  return alive;
};

/**
 * Edge indices into each destination.
 *
 * Returns, per destination index, its incoming edge indices.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { incoming } from "@patchbay/circuits";
 * import { edgeLayout } from "@patchbay/core/edges";
 * import { inductionModel } from "@patchbay/zoo";
 *
 * const layout = edgeLayout(inductionModel().config);
 * const logits = layout.destinations.findIndex((d) => d.name === "logits");
 * assert.equal(incoming(layout)[logits]!.length, 9); // the input and all 8 heads write to the logits
 * ```
 */
export const incoming = (layout: EdgeLayout): number[][] => {
  const out: number[][] = layout.destinations.map(() => []);
  for (const e of layout.edges) out[e.destination]!.push(e.index);
  return out;
};

/**
 * ACDC (Conmy et al. 2023): walk the graph from the logits back, remove every edge whose removal moves the metric by less than τ. Returns `{ inGraph, deltas, tested, runs, … }` per layout edge.
 * Each speculative batch (in `opts.split` parts) is measured by `rows` when given (a queue's
 * workers running downstreamRows elsewhere), else here by downstreamRows.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { acdc, edgeNames, prepareEdges } from "@patchbay/circuits";
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
 *       return { layout: setup.layout, found: yield* acdc(setup, { tau: 0.5 }) };
 *     }),
 *   ),
 * );
 * const kept = edgeNames({ layout: r.layout, inGraph: r.found.inGraph });
 * assert.ok(kept.includes("a1.h2->logits")); // the induction head writes the answer
 * ```
 */
export const acdc = <E = never>(
  setup: EdgeSetup,
  opts: AcdcOptions,
  rows?: MaskRows<E>,
): Effect.Effect<AcdcResult, InputError | RuntimeError | ConfigError | E> =>
  rows !== undefined
    ? acdcWith(setup, opts, rows)
    : Effect.scoped(Effect.flatMap(downstreamRows(setup), (here) => acdcWith(setup, opts, here)));

/**
 * ACDC measuring its masks with `rows`: downstream-only rows (acdc), the full edge-masked graph
 * (fullGraphRows, the tests' oracle), or a queue's workers evaluating the same downstream rows.
 * Each batch goes to `rows` in `split` parts (rowsInParts). Decisions, Δs, counters and
 * checkpoints are the same algorithm's either way; `runs` counts the session runs of whichever
 * evaluates the masks.
 */
export const acdcWith = <E>(
  setup: EdgeSetup,
  opts: AcdcOptions,
  evaluator: MaskRows<E>,
): Effect.Effect<AcdcResult, InputError | RuntimeError | ConfigError | E> =>
  Effect.gen(function* () {
    if (!Number.isFinite(opts.tau))
      return yield* new InputError({ field: "tau", expected: "a finite threshold", found: String(opts.tau) });
    const split = opts.split ?? 1;
    if (!Number.isInteger(split) || split < 1)
      return yield* new InputError({
        field: "split",
        expected: "a whole number of parts per speculative batch ≥ 1",
        found: String(opts.split),
      });
    const rows = rowsInParts(evaluator, split, setup.N);
    const { layout } = setup;
    const order = opts.order ?? "normal";
    const speculate = Math.max(1, opts.speculate ?? 16);
    const seed = opts.seed ?? 0;
    const seeded = mulberry32(seed);
    let randCalls = 0;
    const rand = () => {
      randCalls++;
      return seeded();
    };
    const sign = higherIsBetter(setup.task.metric) ? -1 : 1; // m as a loss
    const inGraph = new Uint8Array(layout.edges.length).fill(1);
    const deltas = new Float64Array(layout.edges.length).fill(Number.NaN);
    const byDest = incoming(layout);
    const fed = fedSources(layout);
    let runs = 0;
    let forwardPasses = 0;
    let serialTests = 0;
    let baseline: number | null = null; // m(H), valid while H is unchanged
    let removalRate = 0.5; //               running estimate, picks the speculation
    let full = Number.NaN;
    let start = layout.destinations.length - 1;
    let receiversDone = 0;
    const damage = (without: number, base: number) =>
      opts.absolute ? Math.abs(without - base) : sign * (without - base);

    if (opts.stopAfterReceivers !== undefined && opts.checkpoint === undefined)
      return yield* new InputError({
        field: "stopAfterReceivers",
        expected: "a checkpoint file to stop at (stopAfterReceivers interrupts after writing it)",
        found: "no checkpoint",
      });
    const options = { tau: opts.tau, order, seed, absolute: opts.absolute ?? false, speculate, split };
    const file = opts.checkpoint;
    const hashes = file === undefined ? null : checkpointHashes(setup, options);
    if (file !== undefined && hashes !== null) {
      const c = yield* readCheckpoint(file, hashes, layout.edges.length);
      if (c !== null) {
        for (let e = 0; e < inGraph.length; e++) {
          inGraph[e] = c.inGraph.charCodeAt(e) === 49 ? 1 : 0;
          deltas[e] = c.deltas[e] ?? Number.NaN;
        }
        for (let i = 0; i < c.randCalls; i++) rand();
        ({ runs, forwardPasses, serialTests, baseline, removalRate, receiversDone } = c);
        full = c.full ?? Number.NaN;
        start = c.next;
      }
    }
    /** Record the state before receiver `next`; interrupt when the test asked to stop here. */
    const checkpoint = (next: number) =>
      Effect.gen(function* () {
        if (file === undefined || hashes === null) return;
        const state: AcdcCheckpoint = {
          format: ACDC_CHECKPOINT_FORMAT,
          hashes,
          options,
          next,
          receiversDone,
          inGraph: Array.from(inGraph, (x) => (x ? "1" : "0")).join(""),
          deltas: Array.from(deltas, (x) => (Number.isNaN(x) ? null : x)),
          baseline,
          full: Number.isNaN(full) ? null : full,
          removalRate,
          randCalls,
          runs,
          forwardPasses,
          serialTests,
        };
        writeCheckpoint(file, state);
        if (opts.stopAfterReceivers !== undefined && receiversDone >= opts.stopAfterReceivers)
          return yield* Effect.interrupt;
      });
    yield* checkpoint(start);

    for (let v = start; v >= 0; v--) {
      if (!connectedToLogits(layout, inGraph, fed)[v]) continue;
      let parents = byDest[v]!.filter((e) => inGraph[e]);
      if (order === "reverse") parents = parents.reverse();
      if (order === "random") {
        for (let i = parents.length - 1; i > 0; i--) {
          const j = Math.floor(rand() * (i + 1));
          [parents[i], parents[j]] = [parents[j]!, parents[i]!];
        }
      }
      let i = 0;
      while (i < parents.length) {
        // Speculate on the likelier outcome: mostly removals → a chain H∖{c1}, H∖{c1,c2}, … (exact up
        // to the first keep); mostly keeps → single removals H∖{c1}, H∖{c2}, … (exact up to the
        // first removal). The length covers about twice the expected run of that outcome.
        const chain = removalRate >= 0.5;
        const expected = chain ? 1 / Math.max(1e-3, 1 - removalRate) : 1 / Math.max(1e-3, removalRate);
        const batch = parents.slice(i, i + Math.min(speculate, Math.max(1, Math.ceil(2 * expected))));
        const masks: Float32Array[] = [];
        if (baseline === null) masks.push(maskFromEdges(setup, inGraph));
        const trial = Uint8Array.from(inGraph);
        for (const e of batch) {
          if (!chain) trial.set(inGraph);
          trial[e] = 0;
          masks.push(maskFromEdges(setup, trial));
        }
        // every edge removed so far, and by these trials, goes into v's layer or later
        const r = yield* rows.evaluate(layout.destinations[v]!.layer ?? setup.model.config.nLayers, masks);
        runs += r.runs;
        forwardPasses += masks.length;
        if (baseline === null) {
          baseline = r.mean[0]!;
          if (Number.isNaN(full)) full = baseline;
        }
        const off = masks.length - batch.length;
        let decided = 0;
        for (let j = 0; j < batch.length; j++) {
          const without = r.mean[off + j]!;
          const delta = damage(without, baseline);
          deltas[batch[j]!] = delta;
          serialTests++;
          decided++;
          const removed = delta < opts.tau;
          removalRate = 0.8 * removalRate + 0.2 * (removed ? 1 : 0);
          if (removed) {
            inGraph[batch[j]!] = 0;
            baseline = without; // H ∖ {e} is the new baseline, already measured
            if (!chain) break; //  later singles were measured against the old H
          } else if (chain) break; // later chain entries assumed this edge removed
        }
        i += decided;
      }
      receiversDone++;
      yield* checkpoint(v - 1);
    }
    const final = baseline ?? full;
    const tested = Uint8Array.from(deltas, (x) => (Number.isNaN(x) ? 0 : 1));
    deltas.forEach((x, e) => {
      if (Number.isNaN(x)) deltas[e] = 0; // receiver cut off from the logits: Δ = 0 (see above)
    });
    return {
      method: "acdc",
      tau: opts.tau,
      order,
      inGraph: prune(layout, inGraph),
      unpruned: inGraph,
      deltas,
      tested,
      runs,
      forwardPasses,
      serialTests,
      full,
      final,
    };
  });
