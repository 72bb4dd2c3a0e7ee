import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { ModelNotFoundError } from "../errors/index.ts";
import { failureOf } from "../testing/exit.ts";
import { openModel } from "./index.ts";

/** openModel goes through the loader's model sources (weights/sources.ts); nothing registers builtin: here. */

describe("openModel", () => {
  it("builtin: with no source registered fails with the ModelNotFoundError saying what to import", () => {
    const opened = Effect.runSyncExit(Effect.scoped(openModel("builtin:induction")));
    const e = failureOf<ModelNotFoundError>(opened);
    expect(e).toBeInstanceOf(ModelNotFoundError);
    expect(e.message).toContain('import "@patchbay/zoo"');
  });
});
