import { Exit } from "effect";
import { describe, expect, it } from "vitest";
import { forward, generate } from "./index.ts";
import {
  finiteWeights as finite,
  hugeWeights as huge,
  overflowConfig as config,
  overflowFailure as failureOf,
  runOverflow as run,
} from "./test-support.ts";

/**
 * Finite weights can still overflow float32 (or an intervention can inject a NaN): results are
 * never silently non-finite. forward, generate and runPlan fail with a RuntimeError naming what
 * is non-finite (logits of example b at position p, vocabulary id v; the metric of example b)
 * instead of returning NaN logits (null in JSON, an arbitrary argmax in generate).
 */

describe("non-finite results are a RuntimeError naming what", () => {
  it("the same model with finite logits runs (the check does not fire on finite values)", async () => {
    const exit = await run((c) => forward(c, { config, weights: finite }, [[1, 2, 3]]));
    expect(Exit.isSuccess(exit)).toBe(true);
  });

  it("forward: overflowing logits name example, position and vocabulary id", async () => {
    const e = failureOf(await run((c) => forward(c, { config, weights: huge }, [[1], [1, 2, 3]])));
    expect(e._tag).toBe("RuntimeError");
    expect(e.model).toBe("overflow");
    expect(e.operation).toBe("forward");
    expect(e.message).toMatch(
      /non-finite logits: (NaN|\+Inf|-Inf) for example 0 at position 0, vocabulary id \d+/,
    );
    expect(e.message).toContain("float32 overflow");
  });

  it("generate: a RuntimeError, not an arbitrary token", async () => {
    const e = failureOf(
      await run((c) => generate(c, { config, weights: huge }, [1, 2], { maxTokens: 3, temperature: 0 })),
    );
    expect(e._tag).toBe("RuntimeError");
    expect(e.message).toContain("non-finite logits");
  });
});
