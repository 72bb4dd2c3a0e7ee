import { existsSync, readdirSync, statSync } from "node:fs";
import { basename, dirname, extname, join } from "node:path";
import { Effect } from "effect";
import {
  ConfigError,
  HubError,
  ModelNotFoundError,
  TensorShapeError,
  UnknownBuiltinError,
  UnsupportedError,
  WeightFileError,
} from "../errors/errors.ts";
import { attempt } from "../errors/attempt.ts";
import { isOneOf } from "../errors/union.ts";
import { cachedSnapshotSync, downloadModel, type HubRevision, type HubSnapshot } from "../hub/download.ts";
import { isHubPath } from "../hub/name.ts";
import type { Model } from "../model/weights.ts";
import { withFile } from "./bytes.ts";
import { readJsonObject } from "./fields.ts";
import { readGgufHeader } from "./gguf.ts";
import { mapGgufFile } from "./gguf-model.ts";
import { folderTable, INDEX, mapHf } from "./hf.ts";
import { mapLlama2cFile } from "./llama2c.ts";
import { safetensorsTable } from "./safetensors.ts";
import type { Mapped, TensorTable } from "./table.ts";
import { isTransformerLensConfig, mapTransformerLens } from "./transformerlens.ts";
import { type ModelFormat, modelSourceFor } from "./sources.ts";
import { ggufQuantization, type Quantization } from "./quantization.ts";
import { checkWeights } from "./validate.ts";

export type { ModelFormat } from "./sources.ts";

/** A loaded model: its config and weights (canonical names and shapes, validated against weightSpecs(config)), and where they came from. */
export interface LoadedModel extends Model {
  /** The path as given. */
  readonly source: string;
  readonly format: ModelFormat;
  /** For models from a source (`builtin:`, `hf:`): the folder it was read from (tokenizer files, circuit.json). */
  readonly folder?: string;
  /** For GGUF files: the ggml type each tensor is stored in (dequantised to float32 at load). */
  readonly quantization?: Quantization;
  /** For `hf:` models: the repository, the revision asked for and the exact commit loaded. */
  readonly revision?: HubRevision;
}

/** What loading a model can fail with, in one list: the union and its guard are both read from it. */
export const LOAD_ERRORS = [
  WeightFileError,
  ConfigError,
  TensorShapeError,
  UnsupportedError,
  ModelNotFoundError,
  UnknownBuiltinError,
  HubError,
] as const;

export type LoadError = InstanceType<(typeof LOAD_ERRORS)[number]>;

/**
 * Whether a value is one of the typed errors loading a model can fail with (LOAD_ERRORS).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Weights } from "@patchbay/core";
 *
 * try {
 *   Weights.loadModelSync("no/such/model");
 *   assert.fail("loaded a model that does not exist");
 * } catch (e) {
 *   assert.ok(Weights.isLoadError(e)); // a ModelNotFoundError
 * }
 * assert.equal(Weights.isLoadError(new Error("a bug")), false);
 * ```
 */
export const isLoadError = isOneOf(LOAD_ERRORS);

const WHAT =
  "a model folder (config.json + model.safetensors or model.safetensors.index.json), " +
  "a llama2.c .bin, a .gguf, or a .safetensors file with config.json beside it";

const finish = (m: Mapped, source: string, format: ModelFormat): LoadedModel => ({
  config: m.config,
  weights: checkWeights(m),
  source,
  format,
});

/** A folder (or one .safetensors file in it) described by config.json: Hugging Face or TransformerLens. */
const loadConfigured = (folder: string, source: string, weightsFile?: string): LoadedModel => {
  const configPath = join(folder, "config.json");
  const raw = readJsonObject(configPath);
  const weights = (): TensorTable =>
    weightsFile !== undefined ? safetensorsTable(weightsFile) : folderTable(folder);
  if (raw.model_type !== undefined) return finish(mapHf(configPath, raw, weights), source, "hf");
  if (isTransformerLensConfig(raw))
    return finish(mapTransformerLens(configPath, raw, weights), source, "transformerlens");
  throw new ConfigError({
    file: configPath,
    field: "model_type",
    expected:
      "a Hugging Face model_type, or TransformerLens fields (n_layers, d_model, d_head, d_vocab, ...)",
    found: "neither",
  });
};

/** A folder without config.json: exactly one .gguf or llama2.c .bin inside. */
const loadBareFolder = (folder: string, source: string): LoadedModel => {
  const candidates = readdirSync(folder).filter(
    (f) => f.endsWith(".gguf") || (f.endsWith(".bin") && !f.startsWith("tok")),
  );
  if (candidates.length === 1) return loadFile(join(folder, candidates[0]!), source);
  throw new ModelNotFoundError({
    path: source,
    expected:
      candidates.length === 0
        ? `${WHAT} (the folder has no config.json)`
        : `one model file, but the folder has several (${candidates.join(", ")}): name the file`,
  });
};

/** A GGUF file, with the types its tensors were stored in (from the header table, read again). */
const loadGguf = (path: string, source: string): LoadedModel => ({
  ...finish(mapGgufFile(path), source, "gguf"),
  quantization: ggufQuantization(readGgufHeader(path)),
});

const startsWithGguf = (path: string): boolean =>
  withFile(path, (src) => src.size >= 4 && String.fromCharCode(...src.read(0, 4)) === "GGUF");

const loadFile = (path: string, source: string): LoadedModel => {
  const name = basename(path);
  if (name === "config.json" || name === INDEX) return loadConfigured(dirname(path), source);
  const ext = extname(path).toLowerCase();
  if (ext === ".gguf" || startsWithGguf(path)) return loadGguf(path, source);
  if (ext === ".bin") return finish(mapLlama2cFile(path), source, "llama2c");
  if (ext === ".safetensors") {
    if (!existsSync(join(dirname(path), "config.json"))) {
      throw new ModelNotFoundError({ path: source, expected: "a config.json beside the .safetensors file" });
    }
    return loadConfigured(dirname(path), source, path);
  }
  throw new UnsupportedError({
    file: path,
    what: "model file type",
    expected: ".bin (llama2.c v0), .gguf, .safetensors (with config.json beside it), or a folder",
    found: ext === "" ? "no extension" : ext,
  });
};

/** A Hub snapshot folder (a Hugging Face folder in the cache), named by its `hf:` path. */
const fromSnapshot = (path: string, snap: HubSnapshot): LoadedModel => ({
  ...loadConfigured(snap.folder, path),
  folder: snap.folder,
  revision: { repo: snap.repo, requested: snap.requested, commit: snap.commit },
});

/**
 * Load any supported checkpoint into canonical form (plain, synchronous; throws only LoadError,
 * anything else is a bug). Dispatch:
 *   folder with config.json → model_type ? Hugging Face : TransformerLens fields ? TransformerLens
 *   folder without config.json → its single .gguf / llama2.c .bin
 *   *.gguf (or GGUF magic) → GGUF;  *.bin → llama2.c v0;  *.safetensors → with ./config.json
 *   <scheme>:… → the model source registered for the scheme (./sources.ts): `builtin:<name>[?options]`
 *     is the zoo's (import "@patchbay/zoo"), built on first use, then read from its cache
 *   hf:owner/name[@revision] → the snapshot in the Hugging Face cache, with no request (a HubError
 *     "not-cached" / "offline" when absent: `loadModel` downloads it)
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Weights } from "@patchbay/core";
 * import "@patchbay/zoo"; // builtin: paths
 *
 * const model = Weights.loadModelSync("builtin:induction");
 * assert.equal(model.format, "builtin");
 * assert.equal(model.config.nLayers, 2);
 * ```
 */
export const loadModelSync = (path: string): LoadedModel => {
  if (isHubPath(path)) return fromSnapshot(path, cachedSnapshotSync(path));
  const source = modelSourceFor(path);
  if (source !== null) {
    const m = source.load(path);
    const folder = m.folder === undefined ? {} : { folder: m.folder };
    return { config: m.config, weights: m.weights, source: path, format: source.format, ...folder };
  }
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === "ENOENT" || code === "ENOTDIR") throw new ModelNotFoundError({ path, expected: WHAT });
    throw new WeightFileError({
      file: path,
      expected: "a readable path",
      found: e instanceof Error ? e.message : String(e),
    });
  }
  if (!isDir) return loadFile(path, path);
  return existsSync(join(path, "config.json")) ? loadConfigured(path, path) : loadBareFolder(path, path);
};

/**
 * A llama2.c v0 checkpoint, whatever its extension.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { loadLlama2cSync } from "@patchbay/core/weights";
 *
 * const file = join(tmpdir(), "truncated.bin");
 * writeFileSync(file, new Uint8Array(8)); // shorter than llama2.c's 28-byte header
 * assert.throws(() => loadLlama2cSync(file), { _tag: "WeightFileError", file });
 * ```
 */
export const loadLlama2cSync = (path: string): LoadedModel => finish(mapLlama2cFile(path), path, "llama2c");

/**
 * A GGUF file (architecture llama), whatever its extension.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { loadGgufSync } from "@patchbay/core/weights";
 *
 * const file = join(tmpdir(), "not-a-model.gguf");
 * writeFileSync(file, "not a gguf file");
 * // a file that is not what it claims is a typed error naming the file
 * assert.throws(() => loadGgufSync(file), { _tag: "WeightFileError", file });
 * ```
 */
export const loadGgufSync = (path: string): LoadedModel => loadGguf(path, path);

/**
 * A folder with config.json: Hugging Face or TransformerLens, decided by the config's fields.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadFolderSync } from "@patchbay/core/weights";
 *
 * const model = loadFolderSync("testdata/fixtures/tiny-gpt2");
 * assert.equal(model.config.dModel, 32);
 * ```
 */
export const loadFolderSync = (folder: string): LoadedModel => loadConfigured(folder, folder);

/**
 * Effect boundary: typed load errors fail the effect; anything else (a bug) is a defect. A
 * `hf:owner/name[@revision]` path is downloaded into the Hugging Face cache first (Hub.downloadModel).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Weights } from "@patchbay/core";
 * import { Effect } from "effect";
 *
 * // a Hugging Face folder (config.json + model.safetensors), relative to the repository root
 * const model = await Effect.runPromise(Weights.loadModel("testdata/fixtures/tiny-gpt2"));
 * assert.equal(model.format, "hf");
 * assert.deepEqual(model.weights.get("blocks.0.attn.W_Q")?.shape, [4, 32, 8]); // [head, d_model, d_head]
 * const missing = await Effect.runPromise(Effect.flip(Weights.loadModel("no/such/model")));
 * assert.equal(missing._tag, "ModelNotFoundError");
 * ```
 */
export const loadModel = (path: string): Effect.Effect<LoadedModel, LoadError> =>
  isHubPath(path)
    ? Effect.flatMap(downloadModel(path), (snap) => attempt(() => fromSnapshot(path, snap), ...LOAD_ERRORS))
    : attempt(() => loadModelSync(path), ...LOAD_ERRORS);
