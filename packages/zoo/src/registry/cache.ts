import { createHash, randomBytes } from "node:crypto";
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Either, ParseResult, Schema } from "effect";
import {
  checkConfig,
  readCanonicalWeightsSync,
  validateWeights,
  writeSafetensors,
} from "@patchbay/core/weights";
import { ConfigError, InputError, WeightFileError } from "@patchbay/core/errors";
import type { ModelConfig, Weights } from "@patchbay/core/model";
import { type BuiltinOptions, type BuiltinSpec, type BuiltModel, resolveBuiltin } from "./registry.ts";

/**
 * The builtin cache. Layout (see README of the zoo registry in ./index.ts):
 *
 *   $PATCHBAY_CACHE (default <repo>/.cache/patchbay, else ~/.cache/patchbay)
 *     builtin/
 *       <name>-<key>/           key = sha256(name, version, options) [first 16 hex]
 *         config.json           the canonical ModelConfig (name = the builtin spec)
 *         model.safetensors     canonical weight names, F32
 *         circuit.json          {"edges": [...] | null, "variants": {...}}
 *         manifest.json         {builtin, version, options, key, files: {name: {bytes, sha256}}}
 *         tokenizer.json ...    when the builder supplies tokenizer files
 *       .tmp-<name>-<key>-<pid>-<random>/   a build in progress
 *
 * Concurrency: no locks. A build writes every file (fsynced) into its own temp folder on the same
 * file system, then renames the folder onto <name>-<key>. rename(2) is atomic and fails on an
 * existing non-empty folder, so the first finished build wins; the others see ENOTEMPTY/EEXIST,
 * delete their temp folder and read the winner's. A folder named <name>-<key> is therefore always
 * complete; readers never see a half-written model. Two processes may build the same model at
 * once (wasted work, same bytes: the builders are deterministic).
 */

/** The repository root (the folder with pnpm-workspace.yaml above this file), or null. */
const repoRoot = (): string | null => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "pnpm-workspace.yaml"))) return dir;
    const up = dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
};

/**
 * $PATCHBAY_CACHE, else <repo>/.cache/patchbay (git-ignored), else ~/.cache/patchbay.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cacheDir } from "@patchbay/zoo";
 *
 * assert.ok(cacheDir().length > 0);
 * ```
 */
export const cacheDir = (): string => {
  const env = process.env.PATCHBAY_CACHE;
  if (env !== undefined && env !== "") return env;
  const root = repoRoot();
  return root !== null ? join(root, ".cache", "patchbay") : join(homedir(), ".cache", "patchbay");
};

/**
 * The content key of a resolved spec: sha256 over (name, version, options), 16 hex digits.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { builtinKey, resolveBuiltin } from "@patchbay/zoo";
 *
 * const key = builtinKey(resolveBuiltin("builtin:induction"));
 * assert.match(key, /^[0-9a-f]{16}$/);
 * assert.notEqual(builtinKey(resolveBuiltin("builtin:induction?vocabSize=16")), key);
 * ```
 */
export const builtinKey = (spec: BuiltinSpec): string =>
  createHash("sha256")
    .update(JSON.stringify({ name: spec.name, version: String(spec.entry.version), options: spec.options }))
    .digest("hex")
    .slice(0, 16);

export interface BuiltinFolder {
  readonly spec: BuiltinSpec;
  readonly key: string;
  /** The cache folder holding the built model. */
  readonly folder: string;
  /** Whether this call's build is the one in the cache. */
  readonly built: boolean;
  /** "hit": already cached; "built": built here; "raced": built here, but another process renamed its build first. */
  readonly outcome: "hit" | "built" | "raced";
}

const counters = { builds: 0, hits: 0, races: 0 };

/**
 * Builds, cache hits and lost races of this process (for tests and reports).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { builtinStats, ensureBuiltin } from "@patchbay/zoo";
 *
 * const before = builtinStats();
 * ensureBuiltin("builtin:induction");
 * const after = builtinStats();
 * assert.equal(after.builds + after.hits + after.races, before.builds + before.hits + before.races + 1);
 * ```
 */
export const builtinStats = (): {
  readonly builds: number;
  readonly hits: number;
  readonly races: number;
} => ({
  ...counters,
});

const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

const writeDurable = (path: string, bytes: Uint8Array): void => {
  const fd = openSync(path, "wx");
  try {
    let at = 0;
    while (at < bytes.length) at += writeSync(fd, bytes, at, bytes.length - at);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
};

const json = (v: unknown): Uint8Array => new TextEncoder().encode(`${JSON.stringify(v, null, 2)}\n`);

const ioError = (file: string, what: string, e: unknown): WeightFileError =>
  new WeightFileError({ file, expected: what, found: e instanceof Error ? e.message : String(e) });

/** Run the builder; typed input errors become ConfigErrors naming the spec. */
const runBuilder = (spec: BuiltinSpec): BuiltModel => {
  let m: BuiltModel;
  try {
    m = spec.entry.build(spec.options);
  } catch (e) {
    if (e instanceof InputError)
      throw new ConfigError({ file: spec.canonical, field: e.field, expected: e.expected, found: e.found });
    throw e;
  }
  const config: ModelConfig = { ...m.config, name: spec.canonical };
  const weights = validateWeights(config, m.weights, `${spec.canonical} (builder output)`);
  return { ...m, config, weights };
};

/** The files of a built model, by name. */
const modelFiles = (spec: BuiltinSpec, key: string, m: BuiltModel): Map<string, Uint8Array> => {
  const files = new Map<string, Uint8Array>();
  files.set("config.json", json(m.config));
  files.set("model.safetensors", writeSafetensors(m.weights, { format: "pt", patchbay: spec.canonical }));
  files.set("circuit.json", json({ edges: m.circuit ?? null, variants: m.circuits ?? {} }));
  for (const [name, content] of Object.entries({ ...(m.tokenizer ?? {}), ...(m.extra ?? {}) })) {
    if (files.has(name) || name === "manifest.json" || name.includes("/") || name.includes("\\"))
      throw new ConfigError({
        file: spec.canonical,
        field: `file ${name}`,
        expected: "a plain file name other than config.json, model.safetensors, circuit.json, manifest.json",
        found: name,
      });
    files.set(name, typeof content === "string" ? new TextEncoder().encode(content) : content);
  }
  const manifest = {
    builtin: spec.name,
    spec: spec.canonical,
    version: spec.entry.version,
    options: spec.options,
    key,
    files: Object.fromEntries([...files].map(([n, b]) => [n, { bytes: b.length, sha256: sha256(b) }])),
  };
  files.set("manifest.json", json(manifest));
  return files;
};

const isRaceLoss = (e: unknown): boolean => {
  const code = (e as { code?: unknown }).code;
  return code === "ENOTEMPTY" || code === "EEXIST" || code === "EPERM" || code === "EACCES";
};

/**
 * The cache folder of a builtin, building it first when absent (see the concurrency note at the
 * top). Throws UnknownBuiltinError, ConfigError (bad option / builder input), WeightFileError (I/O).
 *
 * Returns `{ spec, key, folder, built, outcome }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { existsSync } from "node:fs";
 * import { join } from "node:path";
 * import { ensureBuiltin } from "@patchbay/zoo";
 *
 * const f = ensureBuiltin("builtin:induction");
 * assert.ok(existsSync(join(f.folder, "config.json")));
 * assert.equal(ensureBuiltin("builtin:induction").outcome, "hit"); // built once, then found
 * ```
 */
export const ensureBuiltin = (path: string, extra: BuiltinOptions = {}): BuiltinFolder => {
  const spec = resolveBuiltin(path, extra);
  const key = builtinKey(spec);
  const root = join(cacheDir(), "builtin");
  const folder = join(root, `${spec.name}-${key}`);
  if (existsSync(join(folder, "manifest.json"))) {
    counters.hits++;
    return { spec, key, folder, built: false, outcome: "hit" };
  }
  if (existsSync(folder)) {
    // not written by us (no manifest): move it aside atomically, then rebuild
    const stale = join(root, `.stale-${spec.name}-${key}-${process.pid}-${randomBytes(4).toString("hex")}`);
    try {
      renameSync(folder, stale);
      rmSync(stale, { recursive: true, force: true });
    } catch {
      // another process moved it first
    }
  }
  const m = runBuilder(spec);
  const files = modelFiles(spec, key, m);
  const tmp = join(root, `.tmp-${spec.name}-${key}-${process.pid}-${randomBytes(6).toString("hex")}`);
  try {
    mkdirSync(tmp, { recursive: true });
    for (const [name, bytes] of files) if (name !== "manifest.json") writeDurable(join(tmp, name), bytes);
    writeDurable(join(tmp, "manifest.json"), files.get("manifest.json")!);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw ioError(tmp, "a writable cache folder (set PATCHBAY_CACHE to move it)", e);
  }
  try {
    renameSync(tmp, folder);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (isRaceLoss(e) && existsSync(join(folder, "manifest.json"))) {
      counters.races++;
      return { spec, key, folder, built: false, outcome: "raced" };
    }
    throw ioError(folder, "a cache folder the build can be renamed onto", e);
  }
  counters.builds++;
  return { spec, key, folder, built: true, outcome: "built" };
};

const Rotary = Schema.Struct({
  dim: Schema.Number,
  base: Schema.Number,
  style: Schema.Literal("half", "interleaved"),
});

/** config.json of a cached builtin: exactly the canonical ModelConfig. */
const ConfigFile = Schema.Struct({
  name: Schema.String,
  family: Schema.Literal("gpt2", "llama", "neox", "llama2c", "transformerlens", "zoo"),
  dModel: Schema.Number,
  nLayers: Schema.Number,
  nHeads: Schema.Number,
  nKvHeads: Schema.Number,
  dHead: Schema.Number,
  dMlp: Schema.NullOr(Schema.Number),
  gatedMlp: Schema.Boolean,
  act: Schema.Literal("gelu_tanh", "gelu", "relu", "silu"),
  vocabSize: Schema.Number,
  nCtx: Schema.Number,
  positional: Schema.Literal("learned", "none"),
  rotary: Schema.NullOr(Rotary),
  norm: Schema.Literal("layernorm", "rmsnorm", "none"),
  normEps: Schema.Number,
  parallelResidual: Schema.Boolean,
  attnScale: Schema.Number,
});

const readConfig = (file: string): ModelConfig => {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new ConfigError({
      file,
      field: "(file)",
      expected: "a JSON ModelConfig",
      found: e instanceof Error ? e.message : String(e),
    });
  }
  const r = Schema.decodeUnknownEither(ConfigFile)(raw, { onExcessProperty: "error" });
  if (Either.isLeft(r)) {
    const [issue] = ParseResult.ArrayFormatter.formatErrorSync(r.left);
    throw new ConfigError({
      file,
      field: issue?.path.join(".") || "(object)",
      expected: "a canonical ModelConfig field",
      found: issue?.message ?? "invalid",
    });
  }
  const config = r.right as ModelConfig;
  checkConfig(config, file);
  return config;
};

export interface LoadedBuiltin {
  readonly config: ModelConfig;
  readonly weights: Weights;
  readonly folder: string;
  readonly spec: BuiltinSpec;
}

/**
 * Build (first use) or find a builtin, then read it back from its cache folder.
 *
 * Returns `{ config, weights, folder, spec }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadBuiltinSync } from "@patchbay/zoo";
 *
 * const m = loadBuiltinSync("builtin:induction", { vocabSize: 16 });
 * assert.equal(m.config.vocabSize, 16);
 * assert.equal(m.spec.canonical, "builtin:induction?vocabSize=16");
 * ```
 */
export const loadBuiltinSync = (path: string, extra: BuiltinOptions = {}): LoadedBuiltin => {
  const { folder, spec } = ensureBuiltin(path, extra);
  const config = readConfig(join(folder, "config.json"));
  const weights = readCanonicalWeightsSync(join(folder, "model.safetensors"), config);
  return { config, weights, folder, spec };
};

export interface BuiltinCircuit {
  /** The ground truth for the default task, or null when the builtin has none (trained models). */
  readonly edges: string[] | null;
  readonly variants: Record<string, string[]>;
}

/**
 * circuit.json of a builtin (built on first use).
 *
 * Returns `{ edges, variants }`: the default ground truth (null when there is none) and every variant by name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { builtinCircuit } from "@patchbay/zoo";
 *
 * const c = builtinCircuit("builtin:induction");
 * assert.equal(c.edges?.length, 5);
 * assert.ok("zero" in c.variants); // the ground truth under zero ablation
 * ```
 */
export const builtinCircuit = (path: string, extra: BuiltinOptions = {}): BuiltinCircuit => {
  const { folder } = ensureBuiltin(path, extra);
  const file = join(folder, "circuit.json");
  try {
    return JSON.parse(readFileSync(file, "utf8")) as BuiltinCircuit;
  } catch (e) {
    throw ioError(file, "a JSON circuit file", e);
  }
};
