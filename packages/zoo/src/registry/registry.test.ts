import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Effect, Exit } from "effect";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { ConfigError, UnknownBuiltinError } from "@patchbay/core/errors";
import { forward, openModel } from "@patchbay/core/runtime";
import { loadModel, loadModelSync } from "@patchbay/core/weights";
import { inductionCircuit, inductionModel, inductionTask } from "../induction.ts";
import {
  builtinCircuit,
  builtinKey,
  builtinStats,
  cacheDir,
  ensureBuiltin,
  listBuiltins,
  resolveBuiltin,
} from "./index.ts";

const roots: string[] = [];
const freshCache = (): string => {
  const dir = mkdtempSync(join(tmpdir(), "patchbay-cache-"));
  roots.push(dir);
  process.env.PATCHBAY_CACHE = dir;
  return dir;
};
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

const sameWeights = (
  a: ReadonlyMap<string, { data: Float32Array; shape: readonly number[] }>,
  b: typeof a,
) => {
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  for (const [k, x] of a) {
    const y = b.get(k)!;
    expect(y.shape, k).toEqual(x.shape);
    expect(
      Buffer.from(y.data.buffer, y.data.byteOffset, y.data.byteLength).equals(
        Buffer.from(x.data.buffer, x.data.byteOffset, x.data.byteLength),
      ),
      k,
    ).toBe(true);
  }
};

describe("builtin registry", () => {
  beforeEach(() => {
    freshCache();
  });

  it("builtin:induction loads (loadModelSync) with exactly inductionModel()'s weights and config", () => {
    const direct = inductionModel();
    const m = loadModelSync("builtin:induction");
    expect(m.format).toBe("builtin");
    expect(m.source).toBe("builtin:induction");
    expect(m.config).toEqual({ ...direct.config, name: "builtin:induction" });
    sameWeights(direct.weights, m.weights);
    expect(m.folder!.startsWith(cacheDir())).toBe(true);
    for (const f of ["config.json", "model.safetensors", "circuit.json", "manifest.json"])
      expect(statSync(join(m.folder!, f)).size).toBeGreaterThan(0);
    expect(builtinCircuit("builtin:induction")).toEqual({
      edges: inductionCircuit(),
      variants: {
        "resample/both": inductionCircuit({ corrupt: "both" }),
        "resample/first": inductionCircuit({ corrupt: "first" }),
        "resample/second": inductionCircuit({ corrupt: "second" }),
        zero: inductionCircuit({ ablation: "zero" }),
      },
    });
  });

  it("options: the spec's options reach the builder; defaults spelled out share the default's cache key", () => {
    const m = loadModelSync("builtin:induction?vocabSize=16&nCtx=24&distractors=false");
    const direct = inductionModel({ vocabSize: 16, nCtx: 24, distractors: false });
    expect(m.config.name).toBe("builtin:induction?distractors=false&nCtx=24&vocabSize=16");
    sameWeights(direct.weights, m.weights);
    expect(builtinKey(resolveBuiltin("builtin:induction?vocabSize=32"))).toBe(
      builtinKey(resolveBuiltin("builtin:induction")),
    );
    expect(resolveBuiltin("induction", { seed: 3 }).canonical).toBe("builtin:induction?seed=3");
  });

  it("openModel: builtin:induction opens, runs, and matches the in-memory model's logits", async () => {
    const direct = inductionModel();
    const task = inductionTask(1, 2);
    const [viaBuiltin, viaMemory] = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const m = yield* openModel("builtin:induction");
          expect(m.tokenizer).toBeNull();
          expect(m.config.name).toBe("builtin:induction");
          sameWeights(direct.weights, m.weights);
          const a = yield* forward(m.sessions, m, task.clean);
          const b = yield* forward(m.sessions, direct, task.clean);
          return [a.logits, b.logits] as const;
        }),
      ),
    );
    expect([...viaBuiltin.data]).toEqual([...viaMemory.data]);
  });

  it("a second use is a cache hit: no rebuild, files untouched", () => {
    const first = ensureBuiltin("builtin:induction");
    expect(first.built).toBe(true);
    const file = join(first.folder, "model.safetensors");
    const mtime = statSync(file).mtimeMs;
    const before = builtinStats();
    const second = ensureBuiltin("builtin:induction");
    loadModelSync("builtin:induction");
    const after = builtinStats();
    expect(second).toMatchObject({ built: false, folder: first.folder, key: first.key });
    expect(after.builds).toBe(before.builds);
    expect(after.hits).toBe(before.hits + 2);
    expect(statSync(file).mtimeMs).toBe(mtime);
  });

  it("a folder without manifest (not written by a finished build) is replaced", () => {
    const spec = resolveBuiltin("builtin:induction");
    const folder = join(cacheDir(), "builtin", `induction-${builtinKey(spec)}`);
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, "model.safetensors"), "truncated");
    const r = ensureBuiltin("builtin:induction");
    expect(r.built).toBe(true);
    sameWeights(inductionModel().weights, loadModelSync("builtin:induction").weights);
  });

  it("unknown builtins are a typed error listing the available ones (sync, Effect, openModel)", async () => {
    expect(listBuiltins()).toContain("induction");
    expect(() => loadModelSync("builtin:nope")).toThrow(UnknownBuiltinError);
    expect(() => loadModelSync("builtin:nope")).toThrow(/builtin:nope.*available: .*builtin:induction/);
    const exit = await Effect.runPromiseExit(loadModel("builtin:nope"));
    expect(Exit.isFailure(exit) && JSON.stringify(exit.cause)).toContain("UnknownBuiltinError");
    const opened = await Effect.runPromiseExit(Effect.scoped(openModel("builtin:nope")));
    expect(Exit.isFailure(opened)).toBe(true);
    try {
      loadModelSync("builtin:nope");
    } catch (e) {
      expect(e).toBeInstanceOf(UnknownBuiltinError);
      expect((e as UnknownBuiltinError).available).toEqual(listBuiltins());
    }
  });

  it("bad options are ConfigErrors naming the builtin and the option", () => {
    expect(() => loadModelSync("builtin:induction?vocab=3")).toThrow(ConfigError);
    expect(() => loadModelSync("builtin:induction?vocab=3")).toThrow(/builtin:induction.*vocab.*vocabSize/);
    expect(() => loadModelSync("builtin:induction?vocabSize=3")).toThrow(/vocabSize.*≥ 4.*3/);
    expect(() => loadModelSync("builtin:induction?distractors=7")).toThrow(/distractors.*boolean/);
  });

  it("paths that are not builtin: behave as before", () => {
    expect(() => loadModelSync(join(cacheDir(), "no-such-model"))).toThrow(/no model found/);
  });
});

describe("builtin cache: concurrent builds", () => {
  it("4 processes building the same builtin at once into a fresh cache: all succeed, one folder, same bytes", async () => {
    const cache = freshCache();
    const registry = fileURLToPath(new URL("./index.ts", import.meta.url));
    const loader = fileURLToPath(new URL("../../../core/src/weights/index.ts", import.meta.url));
    const script = join(cache, "child.ts");
    // every child waits until all are ready, then builds
    writeFileSync(
      script,
      `import { createHash } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureBuiltin } from ${JSON.stringify(registry)};
import { loadModelSync } from ${JSON.stringify(loader)};
// a barrier: announce readiness, then spin until every child is ready
const ready = process.env.READY_DIR!;
writeFileSync(join(ready, String(process.pid)), "");
const deadline = Date.now() + 30_000;
while (readdirSync(ready).length < Number(process.env.N) && Date.now() < deadline) {}
const r = ensureBuiltin("builtin:induction");
const m = loadModelSync("builtin:induction");
const sha = createHash("sha256").update(readFileSync(join(r.folder, "model.safetensors"))).digest("hex");
let sum = 0;
for (const t of m.weights.values()) for (const x of t.data) sum += x;
console.log(JSON.stringify({ folder: r.folder, built: r.built, outcome: r.outcome, sha, sum }));
`,
    );
    const N = 4;
    const ready = mkdtempSync(join(tmpdir(), "patchbay-ready-"));
    roots.push(ready);
    const run = () =>
      new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
        const p = spawn(process.execPath, ["--import", "tsx", script], {
          env: { ...process.env, PATCHBAY_CACHE: cache, READY_DIR: ready, N: String(N) },
          cwd: fileURLToPath(new URL(".", import.meta.url)),
        });
        let out = "";
        let err = "";
        p.stdout.on("data", (d) => {
          out += d;
        });
        p.stderr.on("data", (d) => {
          err += d;
        });
        p.on("close", (code) => resolve({ code, out, err }));
      });
    const results = await Promise.all(Array.from({ length: N }, run));
    for (const r of results) expect(r.code, r.err).toBe(0);
    const reports = results.map((r) => JSON.parse(r.out.trim().split("\n").at(-1)!));
    const folders = new Set(reports.map((r) => r.folder));
    expect(folders.size).toBe(1);
    expect(new Set(reports.map((r) => r.sha)).size).toBe(1);
    expect(new Set(reports.map((r) => r.sum)).size).toBe(1);
    // exactly one build is the cached one; the others found it or lost the rename race
    expect(reports.filter((r) => r.built).length).toBe(1);
    const outcomes = reports.map((r) => r.outcome).sort();
    console.log(`concurrent builds: outcomes ${outcomes.join(", ")}`);

    // one final folder, no temp folders left behind
    const entries = readdirSync(join(cache, "builtin"));
    expect(entries).toEqual([`induction-${builtinKey(resolveBuiltin("builtin:induction"))}`]);
    const folder = [...folders][0] as string;
    const manifest = JSON.parse(readFileSync(join(folder, "manifest.json"), "utf8"));
    for (const [name, { bytes, sha256 }] of Object.entries(manifest.files) as [
      string,
      { bytes: number; sha256: string },
    ][]) {
      const b = readFileSync(join(folder, name));
      expect(b.length, name).toBe(bytes);
      expect(createHash("sha256").update(b).digest("hex"), name).toBe(sha256);
    }
    process.env.PATCHBAY_CACHE = cache;
    sameWeights(inductionModel().weights, loadModelSync("builtin:induction").weights);
  }, 60_000);
});
