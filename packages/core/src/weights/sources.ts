import { ModelNotFoundError } from "../errors/errors.ts";
import type { ModelConfig } from "../model/config.ts";
import type { Weights } from "../model/weights.ts";

/**
 * Model sources: paths of the form `<scheme>:<rest>` that name a model some package provides
 * rather than a file. Core defines the interface and never imports a provider; a provider
 * registers itself when it is imported (`import "@patchbay/zoo"` registers `builtin:`), and
 * loadModelSync / loadModel / openModel consult the registry before the file system.
 */

/** The formats loadModelSync reports: the file formats, and `builtin` for the zoo's source. */
export type ModelFormat = "hf" | "llama2c" | "gguf" | "transformerlens" | "builtin";

/** What a source returns for a path it resolves. */
export interface SourcedModel {
  readonly config: ModelConfig;
  readonly weights: Weights;
  /** A folder with the model's other files (tokenizer, circuit.json), when the source keeps one. */
  readonly folder?: string;
}

export interface ModelSource {
  /** The path prefix before the colon, e.g. `builtin` for `builtin:induction`. */
  readonly scheme: string;
  /** The format loadModelSync reports for models of this source. */
  readonly format: ModelFormat;
  /** Resolve a full path (`<scheme>:...`); throws only LoadError (a typed error), anything else is a bug. */
  readonly load: (path: string) => SourcedModel;
}

/** Schemes whose provider is a known package: what an unregistered path of that scheme should import. */
const PROVIDERS: Readonly<Record<string, string>> = { builtin: "@patchbay/zoo" };

const sources = new Map<string, ModelSource>();

/**
 * Register (or replace) the source of a scheme. Schemes are lower-case, two characters or more.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Weights } from "@patchbay/core";
 * import "@patchbay/zoo";
 *
 * // a source that serves the zoo's induction model under its own scheme
 * Weights.registerModelSource({
 *   scheme: "mine",
 *   format: "builtin",
 *   load: () => Weights.loadModelSync("builtin:induction"),
 * });
 * assert.ok(Weights.modelSourceSchemes().includes("mine"));
 * assert.equal(Weights.loadModelSync("mine:anything").config.nLayers, 2);
 * ```
 */
export const registerModelSource = (source: ModelSource): void => {
  if (!/^[a-z][a-z0-9+.-]+$/.test(source.scheme) || source.scheme === "hf")
    throw new Error(`model sources: invalid or reserved (hf) scheme ${JSON.stringify(source.scheme)}`);
  sources.set(source.scheme, source);
};

/**
 * The registered schemes, sorted.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Weights } from "@patchbay/core";
 * import "@patchbay/zoo";
 *
 * assert.ok(Weights.modelSourceSchemes().includes("builtin"));
 * ```
 */
export const modelSourceSchemes = (): string[] => [...sources.keys()].sort();

const schemeOf = (path: string): string | null => {
  const m = /^([a-z][a-z0-9+.-]+):/.exec(path);
  return m === null ? null : m[1]!;
};

/**
 * Whether a path names a model source (registered, or one a known package provides) rather than a file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isSourcePath } from "@patchbay/core/weights";
 *
 * assert.equal(isSourcePath("builtin:induction"), true); // known provider, even before import "@patchbay/zoo"
 * assert.equal(isSourcePath("hf:openai-community/gpt2"), true); // core's own: the Hugging Face Hub
 * assert.equal(isSourcePath("models/gpt2"), false);
 * ```
 */
export const isSourcePath = (path: string): boolean => {
  const s = schemeOf(path);
  return s !== null && (s === "hf" || sources.has(s) || Object.hasOwn(PROVIDERS, s));
};

/**
 * The source of a path, null for a file path. A path whose scheme a known package provides but
 * no one registered is a ModelNotFoundError saying what to import.
 */
export const modelSourceFor = (path: string): ModelSource | null => {
  const s = schemeOf(path);
  if (s === null) return null;
  const source = sources.get(s);
  if (source !== undefined) return source;
  if (!Object.hasOwn(PROVIDERS, s)) return null;
  throw new ModelNotFoundError({
    path,
    expected: `a registered source for ${s}: paths; none is: import "${PROVIDERS[s]}" (it registers them) before loading`,
  });
};
