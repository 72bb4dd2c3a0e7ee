import { makeSessionCache } from "@patchbay/core/runtime";
import { inductionCircuit, inductionModel, inductionTask } from "@patchbay/zoo";
import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { rocAuc } from "../evaluate/index.ts";
import { acdc, eap, eapIgActivations, eapIgInputs, exactScores, prepareEdges } from "./index.ts";

/**
 * Recovery of a known circuit: the compiled induction model (packages/zoo/src), whose
 * ground truth under resample ablation is five edges out of 81. Attention is softened
 * (attnLogit 4) so that the metric is not saturated and gradients see the q/k edges (see
 * docs/methods.md#eap-goes-blind-when-the-metric-saturates).
 */
describe("discovery recovers the compiled induction circuit", () => {
  it("EAP, EAP-IG (inputs, activations), ACDC and exact patching reach ROC AUC ≥ 0.95", async () => {
    const model = inductionModel({ attnLogit: 4 });
    const t = inductionTask(1, 16, { blockLen: 8 });
    const truthNames = new Set(inductionCircuit({ ablation: "resample" }));
    const r = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const cache = yield* makeSessionCache("zoo-induction");
          const setup = yield* prepareEdges(cache, model, {
            ...t,
            ablation: "resample",
            metric: "logit-diff",
          });
          const truth = new Uint8Array(setup.layout.edges.map((e) => (truthNames.has(e.name) ? 1 : 0)));
          const exact = yield* exactScores(setup);
          const scores = {
            exact: exact.scores,
            eap: (yield* eap(setup)).scores,
            "eap-ig-inputs": (yield* eapIgInputs(setup, { steps: 5 })).scores,
            "eap-ig-activations": (yield* eapIgActivations(setup, { steps: 5 })).scores,
          };
          const tau = 0.05 * Math.abs(Math.max(...exact.scores));
          const found = yield* acdc(setup, { tau });
          return { truth, scores, found };
        }),
      ),
    );
    expect(r.truth.reduce((a, b) => a + b, 0)).toBe(truthNames.size);
    for (const [method, s] of Object.entries(r.scores)) {
      const auc = rocAuc(Float64Array.from(s, Math.abs), r.truth);
      console.log(`compiled induction: ROC AUC ${method} = ${auc.toFixed(3)}`);
      expect(auc, method).toBeGreaterThanOrEqual(0.95);
    }
    // ACDC: its kept edges are the ground truth; scores = Δ measured (0 for untested edges)
    const acdcAuc = rocAuc(
      Float64Array.from(r.found.deltas, (d) => (Number.isNaN(d) ? Number.NEGATIVE_INFINITY : d)),
      r.truth,
    );
    console.log(
      `compiled induction: ROC AUC acdc = ${acdcAuc.toFixed(3)}; ${r.found.forwardPasses} forward passes`,
    );
    expect(acdcAuc).toBeGreaterThanOrEqual(0.95);
    expect([...r.found.inGraph]).toEqual([...r.truth]);
  });
});
