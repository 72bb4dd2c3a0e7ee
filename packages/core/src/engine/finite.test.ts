import { Effect, type Exit } from "effect";
import { describe, expect, it } from "vitest";
import { type ModelConfig, randomWeights, type Weights } from "../model/index.ts";
import { makeSessionCache, type SessionCache } from "../runtime/index.ts";
import { tinyRotary } from "../testing/configs.ts";
import { failureOf as failureOfExit } from "../testing/exit.ts";
import { validateWeights } from "../weights/index.ts";
import { plan, runPlan } from "./index.ts";

/**
 * Plans never return silently non-finite results (runtime/finite.ts; runtime/finite.test.ts has
 * forward and generate): runPlan fails with a RuntimeError naming the logits or the metric.
 */

const config: ModelConfig = tinyRotary({ name: "overflow" });

const finite: Weights = randomWeights(config, 7);
/** Every weight finite (validateWeights accepts them), but W_U so large the logits overflow. */
const huge: Weights = (() => {
  const w = new Map(finite);
  const u = w.get("unembed.W_U")!;
  w.set("unembed.W_U", { data: u.data.map((x) => Math.sign(x) * 3e38), shape: u.shape });
  return validateWeights(config, w, "huge");
})();

const run = <A, E>(f: (cache: SessionCache) => Effect.Effect<A, E>) =>
  Effect.runPromiseExit(Effect.scoped(Effect.flatMap(makeSessionCache("overflow"), f)));

type Failure = { _tag: string; model: string; operation: string; message: string };
const failureOf = <A, E>(exit: Exit.Exit<A, E>) => failureOfExit<Failure, A, E>(exit);

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
