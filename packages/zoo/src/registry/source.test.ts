import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { isSourcePath, loadModel, loadModelSync, modelSourceSchemes } from "@patchbay/core/weights";
import { openModel } from "@patchbay/core/runtime";
import "../index.ts";

/**
 * Importing the zoo registers `builtin:` with core's model sources (core's side, with nothing
 * registered, is packages/core/src/weights/sources.test.ts).
 */

describe("builtin: as a core model source", () => {
  it("importing the zoo registers the builtin scheme; loadModelSync reports format and folder", () => {
    expect(modelSourceSchemes()).toContain("builtin");
    expect(isSourcePath("builtin:induction")).toBe(true);
    const m = loadModelSync("builtin:induction?vocabSize=16");
    expect(m.format).toBe("builtin");
    expect(m.source).toBe("builtin:induction?vocabSize=16");
    expect(typeof m.folder).toBe("string");
  });

  it("builtin: the nCtx option", () => {
    expect(loadModelSync("builtin:induction?nCtx=24&vocabSize=16").config.nCtx).toBe(24);
  });

  it("loadModel and openModel take the spec", async () => {
    const loaded = await Effect.runPromise(loadModel("builtin:induction?vocabSize=16"));
    expect(loaded.config.vocabSize).toBe(16);
    const name = await Effect.runPromise(
      Effect.scoped(Effect.map(openModel("builtin:induction?vocabSize=16"), (m) => m.config.vocabSize)),
    );
    expect(name).toBe(16);
  });
});
