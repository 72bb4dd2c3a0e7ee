import { failureOf as failureOfExit } from "../testing/exit.ts";
import { tinyRotary } from "../testing/configs.ts";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Effect, Exit } from "effect";
import { describe, expect, it } from "vitest";
import { type Model, type ModelConfig, randomWeights } from "../model/index.ts";
import { hasSharedModels, sharedModelPath, warnIfNoSharedModels } from "../testing/shared.ts";
import { testdataPath } from "../testing/testdata.ts";
import { loadModelSync } from "../weights/index.ts";
import { SYNTH, syntheticLlama2c, tempDir } from "../weights/test-support.ts";
import { generate, makeSessionCache, type RuntimeOptions, type SessionCache } from "./index.ts";
import { MAX_SEQUENCE } from "./context.ts";
import { forward } from "./forward.ts";

/**
 * Sequences must fit the model's context: learned-position models cannot go past n_ctx at all;
 * rotary models can, but only when the run opts in (allowLongContext). generate checks the
 * longest sequence it would run on before any compute.
 */

warnIfNoSharedModels(
  "runtime/context.test.ts: n_ctx of the stories260K .bin and .gguf and of tl-induction-2L",
);

const run = <A, E>(opts: RuntimeOptions, f: (cache: SessionCache) => Effect.Effect<A, E>) =>
  Effect.runPromiseExit(Effect.scoped(Effect.flatMap(makeSessionCache("ctx-test", opts), f)));

type Failure = { _tag: string; field: string; expected: string; found: string };
const failureOf = <A, E>(exit: Exit.Exit<A, E>) => failureOfExit<Failure, A, E>(exit);

const ids = (n: number, vocab: number) => Array.from({ length: n }, (_, i) => (i * 7 + 3) % vocab);

const rotary: ModelConfig = tinyRotary({ name: "ctx-rotary", nKvHeads: 1 });
const learned: ModelConfig = { ...rotary, name: "ctx-learned", positional: "learned", rotary: null };

describe("the model's context (random models)", () => {
  const rot: Model = { config: rotary, weights: randomWeights(rotary, 1) };
  const lrn: Model = { config: learned, weights: randomWeights(learned, 1) };

  it("rotary: n_ctx tokens run, n_ctx + 1 is an InputError naming the length and the context", async () => {
    expect(Exit.isSuccess(await run({}, (c) => forward(c, rot, [ids(16, 19)])))).toBe(true);
    const e = failureOf(await run({}, (c) => forward(c, rot, [ids(3, 19), ids(17, 19)])));
    expect(e._tag).toBe("InputError");
    expect(e.field).toBe("ids[1]");
    expect(e.found).toBe("17 tokens");
    expect(e.expected).toContain("n_ctx = 16");
    expect(e.expected).toContain("--allow-long-context");
  });

  it("learned positions: never past n_ctx, opt-in or not", async () => {
    for (const opts of [{}, { allowLongContext: true }]) {
      const e = failureOf(await run(opts, (c) => forward(c, lrn, [ids(17, 19)])));
      expect([e._tag, e.field, e.found]).toEqual(["InputError", "ids[0]", "17 tokens"]);
      expect(e.expected).toContain("learned positional embeddings");
    }
  });

  it("generate: prompt + maxTokens − 1 past n_ctx fails before any session is built", async () => {
    let sessions = -1;
    const t0 = performance.now();
    const exit = await run({}, (c) =>
      Effect.ensuring(
        generate(c, rot, ids(5, 19), { maxTokens: 100_000, temperature: 0 }),
        Effect.sync(() => {
          sessions = c.size();
        }),
      ),
    );
    const ms = performance.now() - t0;
    const e = failureOf(exit);
    expect([e._tag, e.field]).toEqual(["InputError", "maxTokens"]);
    expect(e.found).toBe("5 prompt tokens + maxTokens 100000 − 1 = 100004 tokens");
    expect(e.expected).toContain("n_ctx = 16");
    expect(sessions).toBe(0);
    expect(ms).toBeLessThan(1000);
    // exactly up to the context: prompt 5 + 12 new ids runs on at most 16 tokens
    const ok = await run({}, (c) => generate(c, rot, ids(5, 19), { maxTokens: 12, temperature: 0 }));
    expect(Exit.isSuccess(ok) && ok.value.length).toBe(12);
    const over = failureOf(
      await run({}, (c) => generate(c, rot, ids(5, 19), { maxTokens: 13, temperature: 0 })),
    );
    expect(over.field).toBe("maxTokens");
  });

  it("opted in, a run is still bounded: past MAX_SEQUENCE is an InputError, not an allocation failure", async () => {
    const e = failureOf(
      await run({ allowLongContext: true }, (c) =>
        generate(c, rot, ids(5, 19), { maxTokens: 100_000, temperature: 0 }),
      ),
    );
    expect([e._tag, e.field]).toEqual(["InputError", "maxTokens"]);
    expect(e.expected).toContain(`at most ${MAX_SEQUENCE} tokens`);
    const f = failureOf(
      await run({ allowLongContext: true }, (c) => forward(c, rot, [ids(MAX_SEQUENCE + 1, 19)])),
    );
    expect([f._tag, f.field, f.found]).toEqual(["InputError", "ids[0]", `${MAX_SEQUENCE + 1} tokens`]);
    // a batch whose mask would not fit: many sequences of an allowed length
    const many = Array.from({ length: 5 }, () => ids(MAX_SEQUENCE / 2, 19));
    const g = failureOf(await run({ allowLongContext: true }, (c) => forward(c, rot, many)));
    expect([g._tag, g.field]).toEqual(["InputError", "ids"]);
    expect(g.found).toBe(`5 sequences of up to ${MAX_SEQUENCE / 2} tokens`);
  });

  it("generate with the opt-in runs past n_ctx and stops after maxTokens", async () => {
    const exit = await run({ allowLongContext: true }, (c) =>
      generate(c, rot, ids(14, 19), { maxTokens: 8, temperature: 0 }),
    );
    expect(Exit.isSuccess(exit) && exit.value.length).toBe(8);
    // a learned-position model still refuses
    const e = failureOf(
      await run({ allowLongContext: true }, (c) =>
        generate(c, lrn, ids(14, 19), { maxTokens: 8, temperature: 0 }),
      ),
    );
    expect(e.field).toBe("maxTokens");
  });
});

describe("n_ctx comes from each format's own field", () => {
  it("llama2.c: the header's seq_len", () => {
    const file = join(tempDir(), "m.bin");
    writeFileSync(file, syntheticLlama2c(true).bytes);
    expect(loadModelSync(file).config.nCtx).toBe(SYNTH.seq);
  });

  it("Hugging Face checkpoints (the tiny fixtures)", () => {
    const cases: [string, number][] = [
      [testdataPath("fixtures", "tiny-llama"), 64], // max_position_embeddings
      [testdataPath("fixtures", "tiny-neox"), 64], // max_position_embeddings
      [testdataPath("fixtures", "tiny-gpt2"), 32], // n_positions
    ];
    for (const [path, n] of cases) expect([path, loadModelSync(path).config.nCtx]).toEqual([path, n]);
  });

  it.skipIf(!hasSharedModels)("GGUF, llama2.c and TransformerLens checkpoints (../shared/models)", () => {
    const cases: [string, number][] = [
      [sharedModelPath("stories260K", "stories260K.bin"), 512], // seq_len
      [sharedModelPath("stories260K", "stories260K.gguf"), 2048], // llama.context_length, as written
      [sharedModelPath("tl-induction-2L"), 85], // n_ctx
    ];
    for (const [path, n] of cases) expect([path, loadModelSync(path).config.nCtx]).toEqual([path, n]);
  });
});

describe("tiny-llama (max_position_embeddings 64)", () => {
  const m = loadModelSync(testdataPath("fixtures", "tiny-llama"));

  it("100 ids fail, 64 pass, 100 with allowLongContext pass", async () => {
    const model = m;
    const V = model.config.vocabSize;
    expect(model.config.nCtx).toBe(64);
    const e = failureOf(await run({}, (c) => forward(c, model, [ids(100, V)])));
    expect([e._tag, e.field, e.found]).toEqual(["InputError", "ids[0]", "100 tokens"]);
    expect(e.expected).toContain("n_ctx = 64");
    const ok = await run({}, (c) => forward(c, model, [ids(64, V)]));
    expect(Exit.isSuccess(ok) && ok.value.logits.shape).toEqual([1, 64, V]);
    const long = await run({ allowLongContext: true }, (c) => forward(c, model, [ids(100, V)]));
    expect(Exit.isSuccess(long) && long.value.logits.shape).toEqual([1, 100, V]);
  });
});
