import { makeSessionCache, type SessionCache } from "@patchbay/core/runtime";
import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import type { VariableAlignment } from "../alignment/schema.ts";
import { counterfactuals } from "../model/counterfactuals.ts";
import { familyOf } from "../task/task.ts";
import { principalAngles, randomRotation, subspaceOverlap } from "../das/rotation/index.ts";
import { inductionCausalTask } from "../zoo/induction.ts";
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
      heldOut: { "X-same-Y": counterfactuals(hl, familyOf(toy.task, "X-same-Y"), { n: 64, seed: 3 }) },
    };
    const entry: VariableAlignment = {
      variable: "X",
      site: "blocks.0.resid_post",
      positions: ["last"],
      subspace: { rank: 2 },
    };
    const r = await withCache((cache) =>
      dasWithControls(cache, toy.model, toy.task, entry, data, { rank: 2, steps: 200, lr: 0.05, seed: 5 }),
    );
    console.log(`linear toy DAS: ${JSON.stringify({ iia: r.iia, controls: r.controls })}`);
    expect(r.iia.test).toBeGreaterThanOrEqual(0.95);
    expect(r.controls.heldOut["X-same-Y"]).toBeGreaterThanOrEqual(0.95);
    // the whole vector also carries the source's Y into the base: the subspace is the specific one
    expect(r.controls.fullComponent).toBeLessThan(0.5);
    // a random plane of a 12-dim space catches little of X's plane: far below the learned one
    expect(r.controls.randomRotation).toBeLessThan(0.6);
    // the random-init network does not compute X → O at all
    expect(r.controls.randomModel.test).toBeLessThan(0.6);
  });
});

describe("DAS on the compiled induction model (known mechanism)", () => {
  it("learns Q's subspace at the query (rank 16 of 64), containing the query tokens' axes; controls stay low", async () => {
    const { task, network, vocabSize } = inductionCausalTask();
    const data = {
      train: counterfactuals(task.model, familyOf(task, "query"), { n: 512, seed: 1 }),
      test: counterfactuals(task.model, familyOf(task, "query"), { n: 64, seed: 2 }),
      heldOut: {
        "query-same-block": counterfactuals(task.model, familyOf(task, "query-same-block"), {
          n: 64,
          seed: 3,
        }),
      },
    };
    const entry: VariableAlignment = {
      variable: "Q",
      site: "blocks.1.resid_pre",
      positions: ["last"],
      subspace: { rank: 16 },
    };
    const r = await withCache((cache) =>
      dasWithControls(cache, network(), task, entry, data, { rank: 16, steps: 400, lr: 0.01 }),
    );
    const D = r.das.learned.size;
    // TOK = coordinates 0 … V − 1 of the residual stream (core zoo/induction.ts); queries are the
    // tokens 1 … V − 1, so those V − 1 axes must lie in R's span (its last direction is free:
    // POS, PREV and JUNK at the query change nothing the model reads)
    const n = vocabSize - 1;
    const tok = new Float64Array(n * D);
    for (let i = 0; i < n; i++) tok[i * D + 1 + i] = 1;
    const overlap = subspaceOverlap(principalAngles(tok, n, r.das.learned.rotation, 16, D));
    // a random 16-dim subspace of 64 overlaps ≈ 16/64; the learned one is far closer, though not 1:
    // the match score saturates (s = 20), so a partial interchange of Q already flips the match
    const chance = subspaceOverlap(principalAngles(tok, n, randomRotation(D, 16, 99), 16, D));
    console.log(
      `induction DAS: ${JSON.stringify({ iia: r.iia, controls: r.controls })}, overlap with TOK ${overlap.toFixed(3)} (random ${chance.toFixed(3)})`,
    );
    expect(r.iia.test).toBeGreaterThanOrEqual(0.95);
    expect(r.controls.heldOut["query-same-block"]).toBeGreaterThanOrEqual(0.95);
    expect(r.controls.fullComponent).toBeGreaterThanOrEqual(0.95);
    expect(r.controls.randomRotation).toBeLessThan(0.2);
    expect(r.controls.randomModel.test).toBeLessThan(0.4);
    expect(chance).toBeLessThan(0.4);
    expect(overlap).toBeGreaterThan(0.65);
  });
});
