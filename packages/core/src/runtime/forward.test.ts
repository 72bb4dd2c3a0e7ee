import { Effect, Exit } from "effect";
import { describe, expect, it } from "vitest";
import { type ModelConfig, randomWeights } from "../model/index.ts";
import { maxAbsDiff } from "../testing/compare.ts";
import { forward, makeSessionCache } from "./index.ts";

const config: ModelConfig = {
  name: "rt-test",
  family: "zoo",
  dModel: 16,
  nLayers: 2,
  nHeads: 4,
  nKvHeads: 2,
  dHead: 4,
  dMlp: 24,
  gatedMlp: true,
  act: "silu",
  vocabSize: 23,
  nCtx: 16,
  positional: "none",
  rotary: { dim: 4, base: 10000, style: "half" },
  norm: "rmsnorm",
  normEps: 1e-5,
  parallelResidual: false,
  attnScale: 0.5,
};
const weights = randomWeights(config, 1);
const model = { config, weights };

const run = <A, E>(
  f: (cache: Effect.Effect.Success<ReturnType<typeof makeSessionCache>>) => Effect.Effect<A, E>,
) => Effect.runPromiseExit(Effect.scoped(Effect.flatMap(makeSessionCache("rt-test"), f)));

describe("runtime", () => {
  it("caches one session per graph variant and releases them with the scope", async () => {
    let sizes: number[] = [];
    const exit = await run((cache) =>
      Effect.gen(function* () {
        yield* forward(cache, model, [[1, 2, 3]]);
        yield* forward(cache, model, [[4, 5]]);
        sizes.push(cache.size());
        yield* forward(cache, model, [[4, 5]], ["blocks.0.attn.pattern"]);
        yield* forward(cache, model, [[4, 5]], ["blocks.0.attn.hook_pattern"]); // TL spelling, same variant
        sizes.push(cache.size());
      }),
    );
    expect(Exit.isSuccess(exit)).toBe(true);
    expect(sizes).toEqual([1, 2]);
    sizes = [];
  });

  it("returns only the sites asked for, under the names asked for", async () => {
    const exit = await run((cache) =>
      forward(cache, model, [[1, 2, 3]], ["blocks.1.hook_resid_pre", "blocks.0.mlp.post"]),
    );
    expect(Exit.isSuccess(exit)).toBe(true);
    if (!Exit.isSuccess(exit)) return;
    expect([...exit.value.sites.keys()]).toEqual(["blocks.1.hook_resid_pre", "blocks.0.mlp.post"]);
    expect(exit.value.sites.get("blocks.0.mlp.post")!.shape).toEqual([1, 3, 24]);
  });

  it("external-data graphs give the same logits as inline graphs", async () => {
    const ids = [[3, 1, 4, 1, 5]];
    const inline = await run((cache) => forward(cache, model, ids));
    const external = await Effect.runPromiseExit(
      Effect.scoped(
        Effect.flatMap(makeSessionCache("rt-ext", { externalDataThreshold: 64 }), (c) =>
          forward(c, model, ids),
        ),
      ),
    );
    expect(Exit.isSuccess(inline) && Exit.isSuccess(external)).toBe(true);
    if (!Exit.isSuccess(inline) || !Exit.isSuccess(external)) return;
    expect(maxAbsDiff(inline.value.logits.data, external.value.logits.data)).toBe(0);
  });

  it("threads option gives identical logits", async () => {
    const ids = [[3, 1, 4, 1, 5, 9, 2, 6]];
    const one = await Effect.runPromise(
      Effect.scoped(Effect.flatMap(makeSessionCache("t1", { threads: 1 }), (c) => forward(c, model, ids))),
    );
    const two = await Effect.runPromise(
      Effect.scoped(Effect.flatMap(makeSessionCache("t2", { threads: 2 }), (c) => forward(c, model, ids))),
    );
    expect(maxAbsDiff(one.logits.data, two.logits.data)).toBeLessThan(1e-6);
  });

  describe("bad input fails with a typed error before any ORT run", () => {
    const failure = async (ids: number[][], capture: string[] = []) => {
      const exit = await run((cache) => forward(cache, model, ids, capture));
      expect(Exit.isFailure(exit)).toBe(true);
      if (!Exit.isFailure(exit) || exit.cause._tag !== "Fail")
        throw new Error(`expected a typed failure, got ${exit}`);
      return exit.cause.error as { _tag: string; message: string };
    };
    it("token id out of range names the position and the vocabulary", async () => {
      const e = await failure([[1, 2, 23]]);
      expect(e._tag).toBe("InputError");
      expect(e.message).toContain("ids[0][2]");
      expect(e.message).toContain("[0, 23)");
    });
    it("negative and fractional ids", async () => {
      expect((await failure([[1, -1]]))._tag).toBe("InputError");
      expect((await failure([[1.5]])).message).toContain("1.5");
    });
    it("an empty prompt", async () => {
      const e = await failure([[1], []]);
      expect(e.message).toContain("ids[1]");
      expect(e.message).toContain("empty prompt");
    });
    it("an unknown site suggests the nearest names", async () => {
      const e = await failure([[1]], ["blocks.0.attn.patern"]);
      expect(e._tag).toBe("InputError");
      expect(e.message).toContain("blocks.0.attn.pattern");
    });
    it("too long for learned positions", async () => {
      const learned = {
        config: { ...config, positional: "learned" as const, rotary: null, nCtx: 4 },
        weights,
      };
      const w = randomWeights(learned.config, 2);
      const exit = await run((cache) =>
        forward(cache, { config: learned.config, weights: w }, [[1, 2, 3, 4, 5]]),
      );
      expect(Exit.isFailure(exit)).toBe(true);
      expect(String(exit)).toContain("n_ctx = 4");
    });
  });
});
