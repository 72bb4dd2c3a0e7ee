import { makeSessionCache, type SessionCache } from "@patchbay/core/runtime";
import { Effect, Exit, Scope } from "effect";

/**
 * The explorer's sessions of the edge-masked graph from each start layer (core's stepMaskFrom): one
 * session cache per layer, compiled on first use and kept for the next click into that layer,
 * at most `bound` of them, the least recently used released first. Each holds its own copy of
 * the weights of layers L.. and the unembedding (GPT-2 small: ≈ 0.3–0.6 GB a session, see
 * BENCHMARKS.md), so keeping all nLayers + 1 would cost several GB; a click into an evicted layer
 * recompiles its graph (≈ 1–3 s on GPT-2 small).
 */
export interface LayerSessions {
  readonly get: (layer: number) => Effect.Effect<SessionCache>;
  /** the layers whose sessions are alive, least recently used first (for tests) */
  readonly alive: () => readonly number[];
}

export const makeLayerSessions = (
  base: SessionCache,
  bound: number,
): Effect.Effect<LayerSessions, never, Scope.Scope> =>
  Effect.gen(function* () {
    const open = new Map<number, { cache: SessionCache; scope: Scope.CloseableScope }>(); // LRU order
    const close = (layer: number) =>
      Effect.suspend(() => {
        const o = open.get(layer);
        open.delete(layer);
        return o === undefined ? Effect.void : Scope.close(o.scope, Exit.void);
      });
    yield* Effect.addFinalizer(() => Effect.forEach([...open.keys()], close, { discard: true }));
    const get = (layer: number) =>
      Effect.gen(function* () {
        const hit = open.get(layer);
        if (hit !== undefined) {
          open.delete(layer);
          open.set(layer, hit);
          return hit.cache;
        }
        while (open.size >= Math.max(1, bound)) yield* close(open.keys().next().value!);
        const scope = yield* Scope.make();
        const cache = yield* Scope.extend(
          makeSessionCache(`${base.model} (from layer ${layer})`, base.options),
          scope,
        );
        open.set(layer, { cache, scope });
        return cache;
      });
    return { get, alive: () => [...open.keys()] };
  });
