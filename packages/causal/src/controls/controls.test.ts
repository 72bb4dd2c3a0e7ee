import { makeSessionCache, type SessionCache } from "@patchbay/core";
import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import type { VariableAlignment } from "../alignment/schema.ts";
import { counterfactuals } from "../model/counterfactuals.ts";
import { linearToy } from "../zoo/linear.ts";
import { dasWithControls } from "./controls.ts";

const withCache = <A, E>(f: (cache: SessionCache) => Effect.Effect<A, E>): Promise<A> =>
  Effect.runPromise(
    Effect.scoped(Effect.flatMap(makeSessionCache("causal-controls-test", { threads: 1 }), f)),
  );

describe("DAS controls (illusions)", () => {
  it("on the linear toy: the learned subspace works, a random rotation and a random model do not, held-out families hold", async () => {
    const toy = linearToy();
    const { model: hl, families } = toy.task;
    const data = {
      train: counterfactuals(hl, families[0]!, { n: 96, seed: 1 }),
      test: counterfactuals(hl, families[0]!, { n: 64, seed: 2 }),
      heldOut: { "X-same-Y": counterfactuals(hl, families[1]!, { n: 64, seed: 3 }) },
    };
    const entry: VariableAlignment = {
      variable: "X",
      site: "blocks.0.resid_post",
      positions: ["last"],
      subspace: { _tag: "rotation", rank: 2 },
    };
    const r = await withCache((cache) =>
      dasWithControls(cache, toy.model, toy.task, entry, data, { rank: 2, steps: 200, lr: 0.05, seed: 5 }),
    );
    console.log(`linear toy DAS: ${JSON.stringify({ iia: r.iia, controls: r.controls })}`);
    expect(r.iia.test).toBeGreaterThanOrEqual(0.95);
    expect(r.controls.heldOut["X-same-Y"]).toBeGreaterThanOrEqual(0.95);
    expect(r.controls.fullComponent).toBe(1);
    // a random plane of a 12-dim space catches little of X's plane: far below the learned one
    expect(r.controls.randomRotation).toBeLessThan(0.6);
    // the random-init network does not compute X → O at all
    expect(r.controls.randomModel.test).toBeLessThan(0.6);
  });
});
