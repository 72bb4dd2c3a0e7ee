import { describe, expect, it } from "vitest";
import { plan, runPlan } from "./index.ts";
import {
  finiteWeights as finite,
  hugeWeights as huge,
  overflowConfig as config,
  overflowFailure as failureOf,
  runOverflow as run,
} from "../runtime/test-support.ts";

/**
 * Plans never return silently non-finite results (runtime/finite.ts; runtime/finite.test.ts has
 * forward and generate): runPlan fails with a RuntimeError naming the logits or the metric.
 */

describe("non-finite plan results are a RuntimeError naming what", () => {
  it("runPlan: logits, and the metric when the logits stay in the graph", async () => {
    const model = { config, weights: huge };
    const withLogits = failureOf(await run((c) => runPlan(c, model, plan(), [[1, 2, 3]])));
    expect([withLogits._tag, withLogits.operation]).toEqual(["RuntimeError", "running a plan"]);
    expect(withLogits.message).toContain("non-finite logits");
    const metricOnly = failureOf(
      await run((c) =>
        runPlan(
          c,
          model,
          plan({ logits: false, metric: { kind: "logit-diff" } }),
          [
            [1, 2, 3],
            [4, 5, 6],
          ],
          { metric: { positions: [[2], [2]], answers: [[3], [4]], wrong: [[5], [6]] } },
        ),
      ),
    );
    expect(metricOnly._tag).toBe("RuntimeError");
    expect(metricOnly.message).toMatch(/non-finite metric: (NaN|\+Inf|-Inf) for example 0/);
  });
  it("a NaN patch value (finite weights): the run fails naming the logits", async () => {
    const model = { config, weights: finite };
    const value = { data: new Float32Array(1 * 3 * 16).fill(Number.NaN), shape: [1, 3, 16] };
    const e = failureOf(
      await run((c) =>
        runPlan(
          c,
          model,
          plan({ interventions: [{ _tag: "replace", target: { site: "blocks.0.resid_post" } }] }),
          [[1, 2, 3]],
          { interventions: [{ value }] },
        ),
      ),
    );
    expect(e._tag).toBe("RuntimeError");
    expect(e.message).toContain("non-finite logits: NaN for example 0 at position 0, vocabulary id 0");
  });
});
