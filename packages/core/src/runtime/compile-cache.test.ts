import { mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Cause, Effect } from "effect";
import fc from "fast-check";
import * as ort from "onnxruntime-node";
import { afterAll, describe, expect, it } from "vitest";
import { RuntimeError } from "../errors/index.ts";
import { toOnnx } from "../graph/index.ts";
import type { Model } from "../model/index.ts";
import { loadableFixtures, testdataPath } from "../testing/testdata.ts";
import { buildTransformerGraph } from "../transformer/index.ts";
import { loadModelSync, spill } from "../weights/index.ts";
import { makeBatch } from "./batch.ts";
import { cachedSession, compiledKey } from "./compile-cache.ts";
import { feeds } from "./forward.ts";
import { COMPILE_CACHE_ENV, forward, makeSessionCache, type RuntimeOptions } from "./index.ts";

/**
 * The on-disk cache of ORT-optimized graphs (issue 17 §6): a session loaded from it computes the
 * same bytes as one ORT optimized itself, on every family and at both optimization levels; the
 * key follows structure and weights exactly; a damaged entry is rebuilt; the folder stays bounded.
 */
const folders: string[] = [];
const freshDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), "patchbay-compiled-test-"));
  folders.push(d);
  return d;
};
afterAll(() => {
  for (const d of folders) rmSync(d, { recursive: true, force: true });
});

const entries = (dir: string): string[] =>
  readdirSync(dir)
    .filter((n) => /^[0-9a-f]{64}$/.test(n))
    .sort();
const ids = [
  [1, 5, 9, 2, 6, 5, 3],
  [8, 9, 7, 9],
];
const bytes = (d: Float32Array): Buffer => Buffer.from(d.buffer, d.byteOffset, d.byteLength);

/** Logits of one forward through a fresh session cache with `options`, from the cache level `level`. */
const logits = (model: Model, options: RuntimeOptions, level: "basic" | "all" = "all") =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const cache = yield* makeSessionCache(model.config.name, { threads: 1, ...options });
        if (level === "all") return bytes((yield* forward(cache, model, ids)).logits.data);
        const session = yield* cache.get(
          "forward:basic",
          () => buildTransformerGraph(model.config, model.weights).graph,
          { optimization: "basic" },
        );
        const batch = makeBatch(model.config, ids, "ids");
        const out = yield* Effect.promise(() => session.run(feeds(batch, session.inputNames)));
        return bytes(out.logits!.data as Float32Array);
      }),
    ),
  );

describe("sessions through the compile cache", () => {
  for (const name of loadableFixtures())
    for (const level of ["all", "basic"] as const)
      it(`${name}, level ${level}: stored, then loaded by a fresh cache, with the bytes of an uncached run`, async () => {
        const model = loadModelSync(testdataPath("fixtures", name));
        const dir = freshDir();
        const plain = await logits(model, { compileCache: null }, level);
        const stored = await logits(model, { compileCache: dir }, level);
        const [entry] = entries(dir);
        expect(entries(dir)).toHaveLength(1);
        expect(readdirSync(join(dir, entry!)).sort()).toEqual(["model.onnx", "weights.bin"]);
        utimesSync(join(dir, entry!), new Date(0), new Date(0));
        const loaded = await logits(model, { compileCache: dir }, level);
        // loaded from the entry (only a load marks it used), and nothing new stored
        expect(statSync(join(dir, entry!)).mtimeMs).toBeGreaterThan(Date.now() - 60_000);
        expect(entries(dir)).toEqual([entry]);
        expect(stored.equals(plain)).toBe(true);
        expect(loaded.equals(plain)).toBe(true);
      });

  it("spilled weights (external data in a folder) go through it with the same logits", async () => {
    const model = loadModelSync(testdataPath("fixtures/tiny-llama"));
    const dir = freshDir();
    const plain = await logits(model, { compileCache: null });
    const run = () =>
      Effect.runPromise(
        Effect.scoped(
          Effect.gen(function* () {
            const weights = yield* spill(model.weights);
            const cache = yield* makeSessionCache(model.config.name, { threads: 1, compileCache: dir });
            return bytes((yield* forward(cache, { config: model.config, weights }, ids)).logits.data);
          }),
        ),
      );
    expect((await run()).equals(plain)).toBe(true);
    expect((await run()).equals(plain)).toBe(true);
    expect(entries(dir)).toHaveLength(1);
  });

  it("rebuilds an entry ORT cannot load, and stores a good one in its place", async () => {
    const model = loadModelSync(testdataPath("fixtures/tiny-neox"));
    const dir = freshDir();
    const plain = await logits(model, { compileCache: dir });
    const [entry] = entries(dir);
    writeFileSync(join(dir, entry!, "model.onnx"), "not a model");
    expect((await logits(model, { compileCache: dir })).equals(plain)).toBe(true);
    utimesSync(join(dir, entry!), new Date(0), new Date(0));
    expect((await logits(model, { compileCache: dir })).equals(plain)).toBe(true);
    expect(statSync(join(dir, entry!)).mtimeMs).toBeGreaterThan(Date.now() - 60_000); // a load again
  });

  it("a folder it cannot create is a RuntimeError naming it, not a run without the cache", async () => {
    const model = loadModelSync(testdataPath("fixtures/tiny-gpt2"));
    const file = join(freshDir(), "a-file");
    writeFileSync(file, "");
    const exit = await Effect.runPromiseExit(
      Effect.scoped(
        Effect.flatMap(
          makeSessionCache(model.config.name, { threads: 1, compileCache: join(file, "compiled") }),
          (c) => forward(c, model, ids),
        ),
      ),
    );
    expect(exit._tag).toBe("Failure");
    const error = exit._tag === "Failure" ? Cause.squash(exit.cause) : null;
    expect(error).toBeInstanceOf(RuntimeError);
    expect((error as RuntimeError).message).toContain(join(file, "compiled"));
  });

  it("follows PATCHBAY_COMPILE_CACHE when the option is absent, and `null` turns it off", async () => {
    const model = loadModelSync(testdataPath("fixtures/tiny-gpt2"));
    const dir = freshDir();
    const before = process.env[COMPILE_CACHE_ENV];
    process.env[COMPILE_CACHE_ENV] = dir;
    try {
      await logits(model, { compileCache: null });
      expect(entries(dir)).toHaveLength(0);
      await logits(model, {});
      expect(entries(dir)).toHaveLength(1);
    } finally {
      if (before === undefined) delete process.env[COMPILE_CACHE_ENV];
      else process.env[COMPILE_CACHE_ENV] = before;
    }
  });
});

describe("the compile cache's key", () => {
  const model = loadModelSync(testdataPath("fixtures/tiny-gpt2"));
  const lowered = (weights = model.weights) =>
    toOnnx(buildTransformerGraph(model.config, weights).graph, { externalThreshold: 1024 });
  const session = { level: "all", executionProvider: "cpu" };
  const names = [...model.weights.keys()];

  it("is the same for the same graph, and changes with any one weight, the level or the provider", () => {
    const key = compiledKey(lowered(), session);
    expect(compiledKey(lowered(), session)).toBe(key);
    expect(compiledKey(lowered(), { ...session, level: "basic" })).not.toBe(key);
    expect(compiledKey(lowered(), { ...session, executionProvider: "cuda" })).not.toBe(key);
    fc.assert(
      fc.property(fc.nat(names.length - 1), fc.nat(), (n, at) => {
        const t = model.weights.get(names[n]!)!;
        const data = t.data.slice();
        const i = at % data.length;
        data[i] = data[i]! === 0 ? 1e-30 : data[i]! * (1 + 2 ** -20);
        const weights = new Map(model.weights);
        weights.set(names[n]!, { ...t, data });
        expect(compiledKey(lowered(weights), session)).not.toBe(key);
      }),
      { numRuns: 25 },
    );
  });
});

describe("the compile cache's bound", () => {
  it("removes the least recently used entries past the limit, never the one just stored", async () => {
    const dir = freshDir();
    const store = async (name: string, limit: number, into = dir) => {
      const model = loadModelSync(testdataPath("fixtures", name));
      const low = toOnnx(buildTransformerGraph(model.config, model.weights).graph, {
        externalThreshold: 1024,
      });
      const key = compiledKey(low, { level: "all", executionProvider: "cpu" });
      const externalData = (low.external ?? []).flatMap((f) => ("data" in f ? [f] : []));
      const s = await cachedSession(into, key, { graphOptimizationLevel: "all" }, limit, (o) =>
        ort.InferenceSession.create(low.model, { ...o, externalData }),
      );
      await s.release();
      return key;
    };
    const a = await store("tiny-gpt2", Number.MAX_SAFE_INTEGER);
    const b = await store("tiny-llama", Number.MAX_SAFE_INTEGER);
    utimesSync(join(dir, a), new Date(1000), new Date(1000));
    utimesSync(join(dir, b), new Date(2000), new Date(2000));
    await store("tiny-gpt2", Number.MAX_SAFE_INTEGER); // a load: a is now the most recently used
    expect(entries(dir)).toEqual([a, b].sort());
    const size = (d: string, key: string) =>
      readdirSync(join(d, key)).reduce((n, f) => n + statSync(join(d, key, f)).size, 0);
    const elsewhere = freshDir();
    const cSize = size(elsewhere, await store("tiny-neox", Number.MAX_SAFE_INTEGER, elsewhere));
    // room for all but one entry: the least recently used (b) goes, a (just loaded) stays
    const c = await store("tiny-neox", size(dir, a) + size(dir, b) + cSize - 1);
    expect(entries(dir)).toEqual([a, c].sort());
    await store("tiny-llama", 1); // b again, over any limit: everything but it goes
    expect(entries(dir)).toEqual([b]);
  });
});
