import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { hasSharedModels, sharedModelPath, warnIfNoSharedModels } from "../testing/shared.ts";
import { testdataPath } from "../testing/testdata.ts";
import { isLoadError, loadModelSync } from "./load.ts";
import { syntheticGguf, syntheticLlama2c, tempDir } from "./test-support.ts";

/**
 * Corrupted and truncated versions of real files: loading must either succeed or throw one of
 * our typed load errors — never another exception — and each attempt must finish quickly.
 * The Hugging Face base is the tiny-gpt2 fixture (testdata); the TransformerLens, llama2.c and GGUF
 * bases are tl-sorted-list and stories260K from ../shared/models. Without that folder the
 * TransformerLens case is skipped and llama2.c / GGUF fall back to synthetic files.
 */
warnIfNoSharedModels(
  "weights/fuzz.test.ts: the TransformerLens folder (llama2.c and GGUF fall back to synthetic files)",
);

const RUNS = Number(process.env.FUZZ_RUNS ?? 200);
const PER_RUN_MS = 2000;

type Mutation =
  | { kind: "truncate"; at: number }
  | { kind: "overwrite"; edits: [number, number][]; headerOnly: boolean }
  | { kind: "int"; at: number; value: bigint; width: 4 | 8 }
  | { kind: "splice"; at: number; remove: number; insert: number[] };

/** Positions: half biased toward small values (headers), half uniform (anywhere in the file). */
const pos = fc.oneof(fc.nat(), fc.noBias(fc.nat()));

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("truncate" as const), at: pos }),
  fc.record({
    kind: fc.constant("overwrite" as const),
    edits: fc.array(fc.tuple(pos, fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
    headerOnly: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant("int" as const),
    at: pos,
    value: fc.oneof(
      fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
      fc.constantFrom(0n, 1n, 2n ** 31n, 2n ** 32n - 1n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n),
    ),
    width: fc.constantFrom(4 as const, 8 as const),
  }),
  fc.record({
    kind: fc.constant("splice" as const),
    at: pos,
    remove: fc.integer({ min: 0, max: 16 }),
    insert: fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 16 }),
  }),
);

/** Header-ish region where most structure lives; integer smashes and splices aim there. */
const HEADER = 4096;

const apply = (base: Uint8Array, m: Mutation): Uint8Array => {
  const region = Math.min(base.length, HEADER);
  switch (m.kind) {
    case "truncate":
      return base.slice(0, m.at % base.length);
    case "overwrite": {
      const out = new Uint8Array(base);
      for (const [pos, byte] of m.edits) out[pos % (m.headerOnly ? region : base.length)] = byte;
      return out;
    }
    case "int": {
      const out = new Uint8Array(base);
      const at = m.at % Math.max(1, region - m.width);
      const dv = new DataView(out.buffer);
      if (m.width === 8) dv.setBigUint64(at, m.value, true);
      else dv.setUint32(at, Number(m.value % 2n ** 32n), true);
      return out;
    }
    case "splice": {
      const at = m.at % region;
      const tail = base.subarray(Math.min(base.length, at + m.remove));
      const out = new Uint8Array(at + m.insert.length + tail.length);
      out.set(base.subarray(0, at));
      out.set(m.insert, at);
      out.set(tail, at + m.insert.length);
      return out;
    }
  }
};

/** Load `path`; return "ok", or the error tag; any other throw fails the property. */
const attempt = (path: string): string => {
  const t0 = performance.now();
  let outcome = "ok";
  try {
    loadModelSync(path);
  } catch (e) {
    if (!isLoadError(e)) throw new Error(`untyped failure: ${e instanceof Error ? e.stack : String(e)}`);
    expect(e.message, "the error names the file").toContain(path);
    outcome = e._tag;
  }
  const ms = performance.now() - t0;
  expect(ms, `load took ${ms.toFixed(0)} ms`).toBeLessThan(PER_RUN_MS);
  return outcome;
};

const fuzz = (target: string, file: Uint8Array, write: (bytes: Uint8Array) => void): Map<string, number> => {
  const base = new Uint8Array(file); // a copy: a Node Buffer's slice() would be a view, and edits would accumulate
  const seen = new Map<string, number>();
  fc.assert(
    fc.property(mutation, (m) => {
      write(apply(base, m));
      const tag = attempt(target);
      seen.set(tag, (seen.get(tag) ?? 0) + 1);
    }),
    { numRuns: RUNS },
  );
  if (process.env.FUZZ_STATS) console.log(target, Object.fromEntries(seen));
  return seen;
};

describe("fuzz: corrupted files fail with typed errors, quickly", () => {
  it("safetensors in a Hugging Face folder (weights and config.json)", () => {
    const dir = tempDir();
    const weights = readFileSync(testdataPath("fixtures", "tiny-gpt2", "model.safetensors"));
    const config = readFileSync(testdataPath("fixtures", "tiny-gpt2", "config.json"));
    writeFileSync(join(dir, "config.json"), config);
    const seen = fuzz(dir, weights, (b) => writeFileSync(join(dir, "model.safetensors"), b));
    writeFileSync(join(dir, "model.safetensors"), weights);
    const seenConfig = fuzz(dir, config, (b) => writeFileSync(join(dir, "config.json"), b));
    expect(seen.get("WeightFileError") ?? 0).toBeGreaterThan(0);
    expect(seenConfig.get("ConfigError") ?? 0).toBeGreaterThan(0);
  });

  it.skipIf(!hasSharedModels)("TransformerLens folder (tl-sorted-list, ../shared/models)", () => {
    const dir = tempDir();
    const src = sharedModelPath("tl-sorted-list");
    copyFileSync(join(src, "config.json"), join(dir, "config.json"));
    fuzz(dir, readFileSync(join(src, "model.safetensors")), (b) =>
      writeFileSync(join(dir, "model.safetensors"), b),
    );
  });

  it("llama2.c .bin", () => {
    const path = join(tempDir(), "m.bin");
    const base = hasSharedModels
      ? readFileSync(sharedModelPath("stories260K", "stories260K.bin"))
      : syntheticLlama2c(false).bytes;
    const seen = fuzz(path, base, (b) => writeFileSync(path, b));
    expect(seen.get("WeightFileError") ?? 0).toBeGreaterThan(0);
  });

  it("GGUF", () => {
    const path = join(tempDir(), "m.gguf");
    const base = hasSharedModels
      ? readFileSync(sharedModelPath("stories260K", "stories260K.gguf"))
      : syntheticGguf(syntheticLlama2c(true).parts);
    const seen = fuzz(path, base, (b) => writeFileSync(path, b));
    expect(seen.get("WeightFileError") ?? 0).toBeGreaterThan(0);
  });
});
