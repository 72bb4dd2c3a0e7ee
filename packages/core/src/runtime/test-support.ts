import { Effect, type Exit } from "effect";
import { type ModelConfig, randomWeights, type Weights } from "../model/index.ts";
import { tinyRotary } from "../testing/configs.ts";
import { failureOf as failureOfExit } from "../testing/exit.ts";
import { validateWeights } from "../weights/index.ts";
import { makeSessionCache, type SessionCache } from "./session.ts";

/**
 * The overflow model of the non-finite tests (runtime/finite.test.ts for forward and generate,
 * engine/finite.test.ts for plans): every weight finite, so validateWeights accepts it, but W_U so
 * large that the logits overflow float32.
 */
export const overflowConfig: ModelConfig = tinyRotary({ name: "overflow" });
export const finiteWeights: Weights = randomWeights(overflowConfig, 7);
export const hugeWeights: Weights = (() => {
  const w = new Map(finiteWeights);
  const u = w.get("unembed.W_U")!;
  w.set("unembed.W_U", { data: u.data.map((x) => Math.sign(x) * 3e38), shape: u.shape });
  return validateWeights(overflowConfig, w, "huge");
})();

export const runOverflow = <A, Err>(f: (cache: SessionCache) => Effect.Effect<A, Err>) =>
  Effect.runPromiseExit(Effect.scoped(Effect.flatMap(makeSessionCache("overflow"), f)));

type Failure = { _tag: string; model: string; operation: string; message: string };
export const overflowFailure = <A, Err>(exit: Exit.Exit<A, Err>) => failureOfExit<Failure, A, Err>(exit);
