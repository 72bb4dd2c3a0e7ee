import { Effect, Exit } from "effect";
import { describe, expect, it } from "vitest";
import { type Model, type ModelConfig, randomWeights } from "../model/index.ts";
import { forward, makeSessionCache, type RuntimeOptions, type SessionCache } from "../runtime/index.ts";
import { tinyRotary } from "../testing/configs.ts";
import { failureOf as failureOfExit } from "../testing/exit.ts";
import { plan, runPlan } from "./index.ts";

/** Plans and the model's context (runtime/context.ts; runtime/context.test.ts has forward and generate). */

const run = <A, E>(opts: RuntimeOptions, f: (cache: SessionCache) => Effect.Effect<A, E>) =>
  Effect.runPromiseExit(Effect.scoped(Effect.flatMap(makeSessionCache("ctx-test", opts), f)));

type Failure = { _tag: string; field: string; expected: string; found: string };
const failureOf = <A, E>(exit: Exit.Exit<A, E>) => failureOfExit<Failure, A, E>(exit);

const ids = (n: number, vocab: number) => Array.from({ length: n }, (_, i) => (i * 7 + 3) % vocab);

const rotary: ModelConfig = tinyRotary({ name: "ctx-rotary", nKvHeads: 1 });

describe("plans and the model's context (random models)", () => {
  const rot: Model = { config: rotary, weights: randomWeights(rotary, 1) };

  it("rotary with allowLongContext: past n_ctx runs (forward and plans)", async () => {
    const exit = await run({ allowLongContext: true }, (c) =>
      Effect.gen(function* () {
        const f = yield* forward(c, rot, [ids(40, 19)]);
        const p = yield* runPlan(c, rot, plan(), [ids(40, 19)]);
        return [f.logits.shape, p.logits!.shape];
      }),
    );
    expect(Exit.isSuccess(exit) && exit.value).toEqual([
      [1, 40, 19],
      [1, 40, 19],
    ]);
  });
  it("plans refuse past n_ctx without the opt-in", async () => {
    const e = failureOf(await run({}, (c) => runPlan(c, rot, plan(), [ids(17, 19)])));
    expect([e._tag, e.field, e.found]).toEqual(["InputError", "ids[0]", "17 tokens"]);
  });
});
