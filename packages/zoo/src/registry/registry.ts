import { ConfigError, UnknownBuiltinError } from "@patchbay/core/errors";
import { FORBIDDEN_KEYS_EXPECTED, isForbiddenKey } from "@patchbay/core/text";
import type { ModelConfig, Weights } from "@patchbay/core/model";

/**
 * The zoo registry: `builtin:<name>` model paths map to builders. A builder returns a model in
 * canonical form (plus, optionally, tokenizer files and its ground-truth circuit); the cache
 * (./cache.ts) builds it once and stores it on disk, keyed by (name, version, options).
 */

/** A JSON scalar: the only option values a `builtin:` spec can carry. */
export type OptionValue = number | boolean | string;
export type BuiltinOptions = Readonly<Record<string, OptionValue>>;

/** What a builder returns. */
export interface BuiltModel {
  readonly config: ModelConfig;
  readonly weights: Weights;
  /**
   * Tokenizer files to store beside the model, by file name: `tokenizer.json` (+
   * `tokenizer_config.json`) or `vocab.json` + `merges.txt` (what findTokenizer looks for in a folder).
   */
  readonly tokenizer?: Readonly<Record<string, string | Uint8Array>>;
  /** Other files to keep beside the model (e.g. a trained model's training.json: loss and accuracy curves). */
  readonly extra?: Readonly<Record<string, string | Uint8Array>>;
  /** The ground-truth circuit for the model's default task, as edge names (edges/layout.ts). */
  readonly circuit?: readonly string[];
  /** Further ground truths by variant (e.g. "resample/first", "zero"), stored in circuit.json too. */
  readonly circuits?: Readonly<Record<string, readonly string[]>>;
}

/** A task in the engine's metric-binding shape (same as inductionTask's result). */
export interface Task {
  /** [n][len] token ids */
  readonly clean: number[][];
  /** [n][len], position-aligned with clean */
  readonly corrupted: number[][];
  /** [n][k] metric positions per example */
  readonly positions: number[][];
  /** [n][k] the correct next token at each metric position */
  readonly answers: number[][];
  /**
   * [n][k] the competing token at each metric position: what logit-diff and prob-diff subtract.
   * Absent when no metric that reads it is used (a task file may omit `wrong` for logprob, prob, …).
   */
  readonly wrong?: number[][];
}

/** What taskFor asks a builtin's generator for. */
export interface TaskRequest {
  readonly seed: number;
  readonly n: number;
  /** Generator-specific knobs (e.g. induction's blockLen, corrupt). */
  readonly options?: Readonly<Record<string, unknown>>;
}

export interface BuiltinEntry {
  /**
   * Bump whenever the builder's output changes: it is part of the cache key, so old cached
   * folders are simply not used any more.
   */
  readonly version: number | string;
  /**
   * Build the model. Called with the defaults merged with the spec's options. Write it as a lazy
   * arrow (`(o) => reverseModel(o)`), never as a bare reference, so the registration line never
   * depends on the order in which the zoo's modules initialise.
   */
  readonly build: (options: BuiltinOptions) => BuiltModel;
  /**
   * The options a spec may set (`builtin:name?key=value&...`), with their defaults; a key not
   * listed, or a value of another type, is a ConfigError. Omitted: no options.
   */
  readonly defaults?: BuiltinOptions;
  /** The builtin's task generator (taskFor / writeBuiltinTask), given the model's options. */
  readonly task?: (request: TaskRequest, options: BuiltinOptions) => Task;
  readonly description?: string;
}

const table = new Map<string, BuiltinEntry>();

const NAME = /^[a-z0-9][a-z0-9._-]*$/;

/**
 * Register a builtin. Names are lower-case [a-z0-9._-]; registering a name twice is a bug.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { inductionModel, loadBuiltinSync, register } from "@patchbay/zoo";
 *
 * register("doc-small-induction", { version: 1, build: () => inductionModel({ vocabSize: 8, nCtx: 8 }) });
 * assert.equal(loadBuiltinSync("builtin:doc-small-induction").config.vocabSize, 8);
 * ```
 */
export const register = (name: string, entry: BuiltinEntry): void => {
  if (!NAME.test(name)) throw new Error(`zoo registry: invalid builtin name ${JSON.stringify(name)}`);
  if (table.has(name)) throw new Error(`zoo registry: builtin ${name} registered twice`);
  table.set(name, entry);
};

/**
 * Registered names, sorted.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { listBuiltins } from "@patchbay/zoo";
 *
 * assert.ok(listBuiltins().includes("induction"));
 * ```
 */
export const listBuiltins = (): string[] => [...table.keys()].sort();

export const PREFIX = "builtin:";

/**
 * Whether a model path names a builtin (`builtin:<name>[?options]`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isBuiltinPath } from "@patchbay/zoo";
 *
 * assert.equal(isBuiltinPath("builtin:induction?vocabSize=16"), true);
 * assert.equal(isBuiltinPath("testdata/fixtures/tiny-gpt2"), false);
 * ```
 */
export const isBuiltinPath = (path: string): boolean => path.startsWith(PREFIX);

/** A parsed and resolved builtin spec. */
export interface BuiltinSpec {
  readonly name: string;
  readonly entry: BuiltinEntry;
  /** Defaults merged with the given options, keys sorted. */
  readonly options: BuiltinOptions;
  /** The canonical spelling: `builtin:name`, plus `?k=v&...` for options that differ from the defaults. */
  readonly canonical: string;
}

const parseValue = (raw: string): OptionValue => {
  if (raw === "true") return true;
  if (raw === "false") return false;
  if (raw.trim() !== "" && Number.isFinite(Number(raw))) return Number(raw);
  return raw;
};

const sorted = (o: Readonly<Record<string, OptionValue>>): Record<string, OptionValue> =>
  Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/**
 * Resolve `builtin:name`, `builtin:name?k=v&k2=v2`, or a bare `name`, with extra options merged
 * over the spec's. Throws UnknownBuiltinError (listing what is registered) or ConfigError (a bad
 * option, naming the spec and the option).
 *
 * Returns `{ name, entry, options, canonical }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveBuiltin } from "@patchbay/zoo";
 *
 * const s = resolveBuiltin("builtin:induction?vocabSize=16");
 * assert.equal(s.name, "induction");
 * assert.equal(s.options.vocabSize, 16);
 * assert.throws(() => resolveBuiltin("builtin:nope"), /induction/); // lists what is registered
 * ```
 */
export const resolveBuiltin = (spec: string, extra: BuiltinOptions = {}): BuiltinSpec => {
  const body = isBuiltinPath(spec) ? spec.slice(PREFIX.length) : spec;
  const q = body.indexOf("?");
  const name = q < 0 ? body : body.slice(0, q);
  const entry = table.get(name);
  if (entry === undefined) throw new UnknownBuiltinError({ builtin: name, available: listBuiltins() });
  const file = `${PREFIX}${name}`;
  // a Map, not an object: option names come from the user's string (`?__proto__=1` is just a name)
  const given = new Map<string, OptionValue>();
  if (q >= 0) for (const [k, v] of new URLSearchParams(body.slice(q + 1))) given.set(k, parseValue(v));
  for (const [k, v] of Object.entries(extra)) given.set(k, v);
  const defaults = entry.defaults ?? {};
  for (const [k, v] of given) {
    if (isForbiddenKey(k))
      throw new ConfigError({
        file,
        field: k,
        expected: FORBIDDEN_KEYS_EXPECTED,
        found: `${k}=${String(v)}`,
      });
    if (!Object.hasOwn(defaults, k)) {
      const known = Object.keys(defaults);
      throw new ConfigError({
        file,
        field: k,
        expected: known.length === 0 ? "no options (this builtin takes none)" : `one of ${known.join(", ")}`,
        found: `${k}=${String(v)}`,
      });
    }
    const want = typeof defaults[k];
    if (typeof v !== want) {
      throw new ConfigError({ file, field: k, expected: `a ${want}`, found: JSON.stringify(v) });
    }
  }
  const options = sorted({ ...defaults, ...Object.fromEntries(given) });
  const differing = Object.entries(options).filter(([k, v]) => defaults[k] !== v);
  const query = new URLSearchParams(differing.map(([k, v]): [string, string] => [k, String(v)])).toString();
  return { name, entry, options, canonical: query === "" ? file : `${file}?${query}` };
};
