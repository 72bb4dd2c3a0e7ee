import type { InputError, RuntimeError } from "@patchbay/core/errors";
import { type CleanStreams, cleanStreams, evaluateMasksFrom } from "@patchbay/core/patching";
import { makeSessionCache, type SessionCache } from "@patchbay/core/runtime";
import { Effect, Exit, Scope } from "effect";
import { evaluateMasks, type MaskRun } from "./masks.ts";
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
export interface MaskRows {
  /** The metric of masks that remove only edges into destinations at `layer` or later. */
  readonly evaluate: (
    layer: number,
    masks: readonly Float32Array[],
  ) => Effect.Effect<MaskRun, InputError | RuntimeError>;
}

/** The full edge-masked graph for every mask (a whole forward per row): the oracle. */
export const fullGraphRows = (setup: EdgeSetup): MaskRows => ({
  evaluate: (_layer, masks) => evaluateMasks(setup, masks),
});

/**
 * Downstream-only rows. The clean forward (streams entering every layer, every source's Δ) runs
 * once, on first use, in a session released right after; the graph from layer L is compiled when
 * ACDC reaches L and released when it moves below L, so one such session (holding the weights of
 * layers L.. once) is alive at a time, and none after the enclosing Scope closes.
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
        const N = setup.N;
        const mean = new Float64Array(masks.length);
        for (let i = 0; i < masks.length; i++) {
          let s = 0;
          for (let b = 0; b < N; b++) s += r.perExample[i * N + b]!;
          mean[i] = s / N;
        }
        return { mean, perExample: r.perExample, runs: r.runs, rows: masks.length * N };
      });
    return { evaluate, opened };
  });
