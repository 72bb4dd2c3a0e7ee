import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { ModelNotFoundError } from "../errors/index.ts";
import { randomWeights } from "../model/index.ts";
import { tinyRotary } from "../testing/configs.ts";
import { failureOf } from "../testing/exit.ts";
import { loadModel, loadModelSync } from "./load.ts";
import { isSourcePath, modelSourceFor, modelSourceSchemes, registerModelSource } from "./sources.ts";

/**
 * Core never imports the zoo: `builtin:` works only once a package registered a source for it. This
 * file imports no provider, so builtin: is unregistered here (the zoo's own tests cover the
 * registered path: packages/zoo/src/registry/source.test.ts).
 */

describe("model sources", () => {
  it("builtin: with no source registered is a ModelNotFoundError saying what to import", () => {
    expect(modelSourceSchemes()).not.toContain("builtin");
    expect(isSourcePath("builtin:induction")).toBe(true);
    expect(() => loadModelSync("builtin:induction")).toThrow(ModelNotFoundError);
    try {
      loadModelSync("builtin:induction?vocabSize=16");
    } catch (e) {
      expect((e as ModelNotFoundError).path).toBe("builtin:induction?vocabSize=16");
      expect((e as ModelNotFoundError).message).toContain('import "@patchbay/zoo"');
    }
    const exit = Effect.runSyncExit(loadModel("builtin:induction"));
    expect(failureOf(exit)).toBeInstanceOf(ModelNotFoundError);
  });

  it("a registered scheme resolves through its source, with the format and folder it gives", () => {
    const config = tinyRotary({ name: "test-source" });
    const weights = randomWeights(config, 3);
    const asked: string[] = [];
    registerModelSource({
      scheme: "test-src",
      format: "builtin",
      load: (path) => {
        asked.push(path);
        return { config, weights, folder: "/nowhere" };
      },
    });
    expect(modelSourceSchemes()).toContain("test-src");
    expect(isSourcePath("test-src:a?b=1")).toBe(true);
    const m = loadModelSync("test-src:a?b=1");
    expect(asked).toEqual(["test-src:a?b=1"]);
    expect(m.config).toBe(config);
    expect(m.weights).toBe(weights);
    expect(m).toMatchObject({ source: "test-src:a?b=1", format: "builtin", folder: "/nowhere" });
  });

  it("file paths are not sources: no scheme, a one-letter drive, an unknown scheme", () => {
    for (const p of ["/tmp/model", "model.bin", "C:/models/m.gguf", "unknown-scheme:x"]) {
      expect(modelSourceFor(p), p).toBeNull();
      expect(isSourcePath(p), p).toBe(false);
    }
    expect(() =>
      registerModelSource({ scheme: "B", format: "builtin", load: () => ({}) as never }),
    ).toThrow();
  });
});
