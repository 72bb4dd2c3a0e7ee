import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { ModelNotFoundError } from "../errors/index.ts";
import { fileBacking } from "../tensor/file-backed.ts";
import { failureOf } from "../testing/exit.ts";
import { testdataPath } from "../testing/testdata.ts";
import { forward, openModel } from "./index.ts";

/** openModel goes through the loader's model sources (weights/sources.ts); nothing registers builtin: here. */

describe("openModel", () => {
  it("builtin: with no source registered fails with the ModelNotFoundError saying what to import", () => {
    const opened = Effect.runSyncExit(Effect.scoped(openModel("builtin:induction")));
    const e = failureOf<ModelNotFoundError>(opened);
    expect(e).toBeInstanceOf(ModelNotFoundError);
    expect(e.message).toContain('import "@patchbay/zoo"');
  });

  it("spillWeights holds the weights in a file (a small model stays on the heap by default), same logits", async () => {
    const open = (spillWeights?: boolean) =>
      Effect.runPromise(
        Effect.scoped(
          Effect.gen(function* () {
            const m = yield* openModel(
              testdataPath("fixtures/tiny-llama"),
              spillWeights === undefined ? {} : { spillWeights },
            );
            const out = yield* forward(m.sessions, m, [[3, 1, 4, 1, 5]]);
            return {
              spilled: fileBacking(m.weights.get("unembed.W_U")!) !== undefined,
              logits: out.logits.data,
            };
          }),
        ),
      );
    const byDefault = await open();
    const spilled = await open(true);
    expect(byDefault.spilled).toBe(false);
    expect(spilled.spilled).toBe(true);
    expect([...spilled.logits]).toEqual([...byDefault.logits]);
  });
});
