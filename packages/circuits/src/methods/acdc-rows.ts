import type { InputError, RuntimeError } from "@patchbay/core/errors";
import { type CleanStreams, cleanStreams, evaluateMasksFrom } from "@patchbay/core/patching";
import { makeSessionCache, type SessionCache } from "@patchbay/core/runtime";
import { Effect, Exit, Scope } from "effect";
import { evaluateMasks, type MaskRun, meanPerMask } from "./masks.ts";
import type { EdgeSetup } from "./setup.ts";

/**
 * How ACDC measures its trial masks. While ACDC visits the receivers of layer L (L = nLayers: the
 * logits), every edge it has removed, and every edge a trial removes, goes into a destination at
 * L or later (it walks the destinations in reverse topological order), so everything upstream of
 * L's resid_pre is the clean run and the sources before L carry a constant Δ per example. The
 * downstream rows (`downstreamRows`, the default) run only layers L.. of the edge-masked model
 * from the cached clean stream (core's evaluateMasksFrom); the full edge-masked graph
 * (`fullGraphRows`, evaluateMasks) is the oracle the tests compare it with.
 */
export interface MaskRows<E = InputError | RuntimeError> {
  /**
   * The metric of masks that remove only edges into destinations at `layer` or later, per mask and
   * example [M·N] (mask-major), and the session runs that took.
   */
  readonly evaluate: (
    layer: number,
    masks: readonly Float32Array[],
  ) => Effect.Effect<Pick<MaskRun, "perExample" | "runs">, E>;
  /** parts of one batch evaluated at once (default 1: one after another); a queue's workers: more */
  readonly concurrency?: number;
}

/** A batch of M masks in `parts` contiguous groups [from, to), as even as can be (the first ones one longer), none empty. */
export const batchParts = (M: number, parts: number): (readonly [number, number])[] => {
  const p = Math.max(1, Math.min(M, parts));
  const out: (readonly [number, number])[] = [];
  for (let i = 0, from = 0; i < p; i++) {
    const to = from + Math.floor(M / p) + (i < M % p ? 1 : 0);
    out.push([from, to]);
    from = to;
  }
  return out;
};

/**
 * `rows` with each batch evaluated in `parts` parts (batchParts), joined in order: the per-example
 * metrics concatenated, each mask's mean over its examples (meanPerMask), runs summed. A part is
 * its own runs, so its rows are grouped as they would be had the part been the whole batch:
 * wherever a part is evaluated (here, or on a queue worker through the same function), the floats
 * are the same bits.
 */
export const rowsInParts = <E>(rows: MaskRows<E>, parts: number, N: number) => ({
  evaluate: (layer: number, masks: readonly Float32Array[]) =>
    Effect.map(
      Effect.forEach(
        batchParts(masks.length, parts),
        ([from, to]) => rows.evaluate(layer, masks.slice(from, to)),
        {
          concurrency: Math.max(1, rows.concurrency ?? 1),
        },
      ),
      (runs): MaskRun => {
        const perExample = new Float32Array(masks.length * N);
        let at = 0;
        for (const r of runs) {
          perExample.set(r.perExample, at);
          at += r.perExample.length;
        }
        return {
          mean: meanPerMask(perExample, N),
          perExample,
          runs: runs.reduce((a, r) => a + r.runs, 0),
          rows: masks.length * N,
        };
      },
    ),
});

/** The full edge-masked graph for every mask (a whole forward per row): the oracle. */
export const fullGraphRows = (setup: EdgeSetup): MaskRows => ({
  evaluate: (_layer, masks) => evaluateMasks(setup, masks),
});

/**
 * Downstream-only rows (`{ evaluate, opened }`). The clean forward (streams entering every layer, every source's Δ) runs
 * once, on first use, in a session released right after; the graph from layer L is compiled when
 * ACDC reaches L and released when it moves below L, so one such session (holding the weights of
 * layers L.. once) is alive at a time, and none after the enclosing Scope closes. What ACDC runs
 * here, and what a queue worker runs for a distributed ACDC's batches.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { downstreamRows, maskFromEdges, prepareEdges } from "@patchbay/circuits";
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
 *       const rows = yield* downstreamRows(setup);
 *       const full = maskFromEdges(setup, new Uint8Array(setup.layout.edges.length).fill(1));
 *       return yield* rows.evaluate(model.config.nLayers, [full, full]); // from the logits' layer
 *     }),
 *   ),
 * );
 * assert.equal(r.perExample.length, 8); // 2 masks × 4 examples
 * assert.equal(r.perExample[0], r.perExample[4]); // the same mask, the same bits
 * ```
 */
export const downstreamRows = (
  setup: EdgeSetup,
): Effect.Effect<MaskRows & { readonly opened: readonly SessionCache[] }, never, Scope.Scope> =>
  Effect.gen(function* () {
    const { model, layout, task } = setup;
    const L = model.config.nLayers;
    const opened: SessionCache[] = []; //                   every cache opened, in order (for tests)
    const open = (label: string) =>
      Effect.tap(makeSessionCache(`${setup.cache.model} (ACDC ${label})`, setup.cache.options), (c) =>
        Effect.sync(() => opened.push(c)),
      );
    let clean: CleanStreams | null = null;
    let live: {
      readonly layer: number;
      readonly scope: Scope.CloseableScope;
      readonly cache: SessionCache;
    } | null = null;
    const release = Effect.suspend(() => {
      const s = live?.scope;
      live = null;
      return s === undefined ? Effect.void : Scope.close(s, Exit.void);
    });
    yield* Effect.addFinalizer(() => release);
    const evaluate = (layer: number, masks: readonly Float32Array[]) =>
      Effect.gen(function* () {
        const ablated = yield* setup.ablated;
        if (clean === null) {
          const layers = Array.from({ length: L + 1 }, (_, l) => l);
          clean = yield* Effect.scoped(
            Effect.flatMap(open("clean run"), (cache) =>
              cleanStreams(cache, model, layout, task.clean, ablated, layers),
            ),
          );
        }
        if (live?.layer !== layer) {
          yield* release;
          const scope = yield* Scope.make();
          live = { layer, scope, cache: yield* Scope.extend(open(`from layer ${layer}`), scope) };
        }
        const r = yield* evaluateMasksFrom(
          live.cache,
          model,
          layout,
          task.metric,
          task.clean,
          clean,
          ablated,
          setup.binding,
          layer,
          masks,
        );
        return {
          mean: meanPerMask(r.perExample, setup.N),
          perExample: r.perExample,
          runs: r.runs,
          rows: masks.length * setup.N,
        };
      });
    return { evaluate, opened };
  });
