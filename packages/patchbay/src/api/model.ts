import "@patchbay/zoo"; // registers builtin:<name> model paths with core
import {
  attempt,
  ConfigError,
  InputError,
  type PatchbayError,
  TensorShapeError,
  WeightFileError,
} from "@patchbay/core/errors";
import { loadTokenizer, type Tokenizer } from "@patchbay/core/tokenizer";
import type { HubRevision } from "@patchbay/core/hub";
import { spill, validateWeights } from "@patchbay/core/weights";
import type { Model, ModelConfig } from "@patchbay/core/model";
import { makeSessionCache, type OpenModel, type OpenOptions, openModel } from "@patchbay/core/runtime";
import { Effect, Exit, Scope } from "effect";
import { ModelClosedError } from "./errors.ts";
import { rejectUnknown } from "./options.ts";
import { type PatchOptions, type PatchResult, patchModel } from "./patch.ts";
import { toPromise } from "./promise.ts";
import {
  type CacheResult,
  type Input,
  type RunOptions,
  type RunResult,
  runModel,
  runWithCache,
} from "./run.ts";

export type { OpenOptions };

/**
 * A model opened by `open`: its config and tokenizer, and live ORT sessions (one per graph
 * variant, compiled on first use) until `close()`. Every method returns a Promise that rejects
 * with patchbay's typed errors (`_tag`, `message` and the fields naming what was wrong).
 */
export interface PatchbayModel extends AsyncDisposable {
  readonly config: ModelConfig;
  readonly tokenizer: Tokenizer | null;
  /** The path it was opened from (a model from memory: its config's name). */
  readonly source: string;
  /** For `hf:owner/name[@revision]`: the repository, the revision asked for and the exact commit opened. */
  readonly revision?: HubRevision;
  /** Whether `close()` was called. */
  readonly closed: boolean;
  /**
   * Logits, the captured sites and (with `metric`) the metric for token ids: one sequence, a batch,
   * or a text. Shapes: logits [batch, pos, d_vocab]; each site as `patchbay sites` lists it.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { open } from "patchbay";
   *
   * await using model = await open("builtin:induction");
   * const { logits, captures } = await model.run([0, 5, 9, 5], { captures: ["blocks.0.attn.hook_pattern"] });
   * assert.deepEqual(logits.shape, [1, 4, model.config.vocabSize]);
   * assert.deepEqual(captures["blocks.0.attn.hook_pattern"]!.shape, [1, model.config.nHeads, 4, 4]);
   * ```
   */
  run(input: Input, options?: RunOptions): Promise<RunResult>;
  /**
   * Logits and every site of the model, keyed by patchbay site name (TransformerLens' run_with_cache).
   * Capturing every site builds the per-head forms of attention, so logits may differ from `run`'s
   * in the last float32 bits.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { open } from "patchbay";
   *
   * await using model = await open("builtin:induction");
   * const { cache } = await model.runWithCache([0, 5, 9, 5]);
   * assert.deepEqual(cache["blocks.1.attn.z"]!.shape, [1, 4, model.config.nHeads, model.config.dHead]);
   * ```
   */
  runWithCache(input: Input): Promise<CacheResult>;
  /**
   * Activation patching of one site from a source prompt into a base prompt (`patchbay patch`):
   * patched, base and source logits, and the metric on the base without and with the patch.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { open } from "patchbay";
   *
   * await using model = await open("builtin:induction");
   * const r = await model.patch({
   *   base: [0, 5, 9, 5], source: [0, 7, 3, 7], site: "blocks.1.resid_pre", positions: [-1],
   *   metric: { kind: "logit-diff", positions: [[3]], answers: [[9]], wrong: [[3]] },
   * });
   * assert.deepEqual(r.positions, { base: [3], source: [3] });
   * assert.ok(r.metric!.patched < r.metric!.base);
   * ```
   */
  patch(options: PatchOptions): Promise<PatchResult>;
  /**
   * Release the ORT sessions, once the runs in flight have settled. Idempotent (every call returns
   * the same Promise); any later use rejects with ModelClosedError. `await using` calls it.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { open } from "patchbay";
   *
   * const model = await open("builtin:induction");
   * try {
   *   await model.run([0, 5, 9]);
   * } finally {
   *   await model.close();
   * }
   * assert.equal(model.closed, true);
   * await assert.rejects(model.run([0, 5, 9]), { _tag: "ModelClosedError" });
   * ```
   */
  close(): Promise<void>;
}

interface State {
  readonly model: OpenModel;
  readonly scope: Scope.CloseableScope;
  readonly pending: Set<Promise<unknown>>;
  closing: Promise<void> | null;
}

const states = new WeakMap<object, State>();

/**
 * Run `f` on the model behind a handle, as a Promise; a closed handle rejects with
 * ModelClosedError, and close() waits for the runs in flight.
 */
export const withModel = <A, E>(
  handle: PatchbayModel,
  operation: string,
  f: (m: OpenModel) => Effect.Effect<A, E>,
): Promise<A> => {
  const s = states.get(handle);
  if (s === undefined)
    return Promise.reject(
      new InputError({ field: "model", expected: "a model from patchbay's open()", found: typeof handle }),
    );
  if (s.closing !== null) return Promise.reject(new ModelClosedError({ model: s.model.source, operation }));
  const p = toPromise(f(s.model));
  s.pending.add(p);
  const done = () => s.pending.delete(p);
  p.then(done, done);
  return p;
};

class Handle implements PatchbayModel {
  readonly config: ModelConfig;
  readonly tokenizer: Tokenizer | null;
  readonly source: string;
  readonly revision?: HubRevision;

  constructor(state: State) {
    this.config = state.model.config;
    this.tokenizer = state.model.tokenizer;
    this.source = state.model.source;
    if (state.model.revision !== undefined) this.revision = state.model.revision;
    states.set(this, state);
  }

  get closed(): boolean {
    return states.get(this)!.closing !== null;
  }

  run(input: Input, options?: RunOptions): Promise<RunResult> {
    return withModel(this, "run", (m) => runModel(m, input, options));
  }

  runWithCache(input: Input): Promise<CacheResult> {
    return withModel(this, "runWithCache", (m) => runWithCache(m, input));
  }

  patch(options: PatchOptions): Promise<PatchResult> {
    return withModel(this, "patch", (m) => patchModel(m, options));
  }

  close(): Promise<void> {
    const s = states.get(this)!;
    s.closing ??= Promise.allSettled([...s.pending]).then(() =>
      Effect.runPromise(Scope.close(s.scope, Exit.void)),
    );
    return s.closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

const OPEN_OPTIONS = [
  "tokenizer",
  "threads",
  "executionProvider",
  "allowLongContext",
  "externalDataThreshold",
  "memoryArena",
  "spillWeights",
];

/**
 * A model already in memory (config and weights, e.g. a zoo network): sessions, no files (unless
 * spilled). Its config and weights are checked as a file's are (ConfigError, TensorShapeError,
 * WeightFileError naming "<name> (in memory)"), so a bad one never reaches the graph builder.
 */
const openInMemory = (model: Model, opts: OpenOptions) =>
  Effect.gen(function* () {
    yield* attempt(
      () => validateWeights(model.config, model.weights, `${model.config.name} (in memory)`),
      ConfigError,
      TensorShapeError,
      WeightFileError,
    );
    const tokenizer = opts.tokenizer !== undefined ? yield* loadTokenizer(opts.tokenizer) : null;
    const weights = opts.spillWeights === true ? yield* spill(model.weights) : model.weights;
    const sessions = yield* makeSessionCache(model.config.name, opts);
    return { config: model.config, weights, source: model.config.name, tokenizer, sessions };
  });

/**
 * Open a model for the Promise API: a Hugging Face folder, a TransformerLens folder, a llama2.c
 * `.bin`, a GGUF or safetensors file, `builtin:<name>` (a zoo model), `hf:owner/name[@revision]`
 * (downloaded from the Hugging Face Hub into its cache), or a model in memory
 * (`{ config, weights }`). Options: `tokenizer` (a path, when it is neither beside the model nor
 * inside it), `threads`, `executionProvider`, `allowLongContext`, `spillWeights` (hold the weights in
 * a temporary file, so ORT's copy is the only one in memory; by default for models past 256 MiB
 * opened from a path), `memoryArena` (ORT's CPU memory arena: by default off for graphs past 100 MB of
 * initializers, where it held gigabytes more). Close it with `close()` or
 * `await using`; the same typed errors as `openModel` reject the Promise.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as patchbay from "patchbay";
 *
 * const model = await patchbay.open("testdata/fixtures/tiny-gpt2", { threads: 1 });
 * const { logits } = await model.run([[1, 2, 3], [4, 5]]);
 * assert.deepEqual(logits.shape, [2, 3, model.config.vocabSize]);
 * await model.close();
 * await assert.rejects(model.run([1, 2]), { _tag: "ModelClosedError" });
 * ```
 */
export const open = async (source: string | Model, options: OpenOptions = {}): Promise<PatchbayModel> => {
  rejectUnknown(options, OPEN_OPTIONS, "open options"); // an InputError: the Promise rejects with it
  const scope = await Effect.runPromise(Scope.make());
  const opened: Effect.Effect<OpenModel, PatchbayError, Scope.Scope> =
    typeof source === "string" ? openModel(source, options) : openInMemory(source, options);
  try {
    const model = await toPromise(Scope.extend(opened, scope));
    return new Handle({ model, scope, pending: new Set(), closing: null });
  } catch (e) {
    await Effect.runPromise(Scope.close(scope, Exit.void));
    throw e;
  }
};
