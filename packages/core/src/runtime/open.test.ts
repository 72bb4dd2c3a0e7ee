import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { ModelNotFoundError } from "../errors/index.ts";
import { randomWeights } from "../model/index.ts";
import { fileBacking } from "../tensor/file-backed.ts";
import { numel } from "../tensor/index.ts";
import { tinyRotary } from "../testing/configs.ts";
import { failureOf } from "../testing/exit.ts";
import { testdataPath } from "../testing/testdata.ts";
import { registerModelSource } from "../weights/index.ts";
import { forward, openModel } from "./index.ts";
import { SPILL_BYTES } from "./open.ts";

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

  it("a model past SPILL_BYTES of float32 weights is spilled by default, one at the limit is not", async () => {
    // a tiny model plus one zero tensor that brings its float32 bytes to `total`
    const config = tinyRotary({ name: "spill-default" });
    const small = randomWeights(config, 1);
    const smallBytes = [...small.values()].reduce((n, t) => n + numel(t.shape) * 4, 0);
    const sized = (total: number) => {
      const floats = (total - smallBytes) / 4;
      return new Map([...small, ["extra.padding", { data: new Float32Array(floats), shape: [floats] }]]);
    };
    const models = new Map([
      ["at", sized(SPILL_BYTES)],
      ["past", sized(SPILL_BYTES + 4)],
    ]);
    registerModelSource({
      scheme: "spill-test",
      format: "builtin",
      load: (path) => ({ config, weights: models.get(path.slice("spill-test:".length))! }),
    });
    const spilled = (name: string) =>
      Effect.runPromise(
        Effect.scoped(
          Effect.map(
            openModel(`spill-test:${name}`),
            (m) => fileBacking(m.weights.get("embed.W_E")!) !== undefined,
          ),
        ),
      );
    expect(await spilled("at")).toBe(false);
    expect(await spilled("past")).toBe(true);
  });
});
