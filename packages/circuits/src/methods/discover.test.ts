import { EDGE_ATTRIBUTION_SESSIONS, EXACT_PATCHING_SESSIONS } from "@patchbay/core/patching";
import { makeSessionCache } from "@patchbay/core/runtime";
import { inductionModel, inductionTask } from "@patchbay/zoo";
import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { discover, eap, exactScores, prepareEdges } from "./index.ts";

/**
 * discover releases its scoring method's sessions before it evaluates the circuit (issue 17 §5):
 * the fused attribution graph and exact patching's block graphs are gone from the cache afterwards
 * (evicting them again finds none), and a second discover on the same cache builds them again
 * with the same scores.
 */
describe("discover releases the sessions it is done with", () => {
  it("EAP (with an exact check) and exact patching: no scoring session left, same scores when run again", async () => {
    const model = inductionModel({ attnLogit: 4 });
    const task = {
      ...inductionTask(1, 4, { blockLen: 8 }),
      ablation: "resample",
      metric: "logit-diff",
    } as const;
    const r = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const cache = yield* makeSessionCache("discover-test", { threads: 1 });
          const setup = yield* prepareEdges(cache, model, task);
          // scoring alone keeps its sessions in the cache, for the next call
          yield* eap(setup);
          yield* exactScores(setup, [0, 1]);
          const keptAttribution = yield* cache.evict(EDGE_ATTRIBUTION_SESSIONS);
          const keptExact = yield* cache.evict(EXACT_PATCHING_SESSIONS);
          const spec = (tag: "eap" | "exact") =>
            ({ method: { _tag: tag }, checkSample: 4, checkSeed: 0 }) as const;
          const first = yield* discover(setup, spec("eap"));
          const left = [
            yield* cache.evict(EDGE_ATTRIBUTION_SESSIONS),
            yield* cache.evict(EXACT_PATCHING_SESSIONS),
          ];
          const again = yield* discover(setup, spec("eap"));
          const exact = yield* discover(setup, spec("exact"));
          const leftExact = yield* cache.evict(EXACT_PATCHING_SESSIONS);
          return { keptAttribution, keptExact, first, left, again, exact, leftExact };
        }),
      ),
    );
    expect(r.keptAttribution).toBe(1);
    expect(r.keptExact).toBeGreaterThan(0);
    expect(r.left).toEqual([0, 0]);
    expect(r.leftExact).toBe(0);
    expect(r.first.check).not.toBeNull();
    expect([...r.again.scores]).toEqual([...r.first.scores]);
    expect([...r.again.inGraph]).toEqual([...r.first.inGraph]);
    expect(r.exact.scores.every(Number.isFinite)).toBe(true);
  });
});
