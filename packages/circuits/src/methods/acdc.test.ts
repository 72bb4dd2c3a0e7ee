import { makeSessionCache } from "@patchbay/core/runtime";
import { inductionModel, inductionTask } from "@patchbay/zoo";
import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { toMibJson } from "../export/index.ts";
import { acdc, discover, evaluateMasks, maskFromEdges, prepareEdges } from "./index.ts";

/**
 * ACDC's scores, as its export carries them (54 of 81 used to be null on builtin:induction).
 * The null ones were the edges into receivers ACDC skips because they were already cut off from
 * the logits (the distractor heads). Contract: every edge has a finite score; a tested edge's is
 * the Δ measured; an untested one's is 0, which is what removing it from ACDC's graph does (the
 * test measures that against the final graph).
 */
describe("ACDC scores every edge", () => {
  it("builtin:induction: no missing score, untested edges are exactly those whose removal does nothing", async () => {
    const model = inductionModel(); //                         builtin:induction (zoo/registry/builtins.ts)
    const t = inductionTask(0, 16);
    const r = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const cache = yield* makeSessionCache("acdc-test");
          const setup = yield* prepareEdges(cache, model, {
            ...t,
            ablation: "resample",
            metric: "logit-diff",
          });
          const found = yield* acdc(setup, { tau: 0.1 });
          const untested = [...found.tested.keys()].filter((e) => found.tested[e] === 0);
          // the final H, and H without each untested edge (every one still in H: never tested)
          const masks = [
            found.unpruned,
            ...untested.map((e) => Uint8Array.from(found.unpruned, (x, i) => (i === e ? 0 : x))),
          ];
          const ev = yield* evaluateMasks(
            setup,
            masks.map((m) => maskFromEdges(setup, m)),
          );
          const d = yield* discover(setup, {
            method: { _tag: "acdc", tau: 0.1, order: "normal", seed: 0, absolute: false },
            checkSample: 16,
            checkSeed: 0,
          });
          const json = toMibJson(
            setup.layout,
            { layout: setup.layout, inGraph: d.inGraph, scores: d.scores },
            model.config,
          );
          return { found, untested, ev, d, json, names: setup.layout.edges.map((e) => e.name) };
        }),
      ),
    );
    const { found, untested, ev } = r;
    console.log(
      `builtin:induction ACDC τ=0.1: ${untested.length} of ${found.deltas.length} edges untested (receiver cut off)`,
    );
    expect(untested.length).toBeGreaterThan(0); //                   the case the issue saw (54 of 81)
    expect(found.deltas.every(Number.isFinite)).toBe(true);
    for (const e of untested) {
      expect(found.deltas[e]).toBe(0);
      expect(found.unpruned[e], r.names[e]).toBe(1); //               never tested, so never removed…
      expect(found.inGraph[e], r.names[e]).toBe(0); //                …and pruned: off every input → logits path
    }
    untested.forEach((e, i) => {
      expect(Math.abs(ev.mean[i + 1]! - ev.mean[0]!), r.names[e]).toBeLessThanOrEqual(
        1e-5 * (1 + Math.abs(ev.mean[0]!)),
      );
    });
    // discover and the MIB export carry them: a number for every edge, no null
    expect(r.d.scores.every(Number.isFinite)).toBe(true);
    const scores = Object.values(r.json.edges).map((e) => e.score);
    expect(scores.length).toBe(found.deltas.length);
    expect(scores.every((s) => typeof s === "number")).toBe(true);
    expect(r.d.check).not.toBeNull(); //                              checkSample is honoured for ACDC
  });
});
