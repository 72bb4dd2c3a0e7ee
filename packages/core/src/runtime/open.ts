import { Effect, type Scope } from "effect";
import { InputError, type PatchbayError, type WeightFileError } from "../errors/index.ts";
import { type HubRevision, isHubPath } from "../hub/index.ts";
import type { Model, Weights } from "../model/index.ts";
import { numel } from "../tensor/index.ts";
import { findTokenizer, loadTokenizer, type Tokenizer } from "../tokenizer/index.ts";
import { isSourcePath, loadModel, type Quantization, spill } from "../weights/index.ts";
import { makeSessionCache, type RuntimeOptions, type SessionCache } from "./session.ts";

/** A loaded model with its tokenizer (when one was found) and its live ORT sessions. */
export interface OpenModel extends Model {
  readonly source: string;
  /** For `hf:` models: the repository, the revision asked for and the exact commit loaded. */
  readonly revision?: HubRevision;
  readonly tokenizer: Tokenizer | null;
  readonly sessions: SessionCache;
  /** For GGUF files: the ggml type each tensor was stored in (LoadedModel.quantization). */
  readonly quantization?: Quantization;
}

export interface OpenOptions extends RuntimeOptions {
  /** A tokenizer path, when it is neither beside the model nor inside it. */
  readonly tokenizer?: string;
  /**
   * Hold the weights in a temporary file (`Weights.spill`) rather than on the JS heap, so that the
   * ORT sessions' copy is the only one in memory. Default: yes for models past 256 MiB of float32
   * weights loaded from a path; no for a model passed in memory (its caller holds it anyway).
   */
  readonly spillWeights?: boolean;
}

/**
 * Float32 bytes past which a model opened from a path is spilled by default. Past it, a copy on
 * the JS heap beside ORT's costs more than writing the file once: GPT-2 small's (0.5 GB) EAP at
 * 8 × 128 peaked at 3.7 GB held on the heap and 2.3–3.0 GB spilled, with the same scores, EAP and
 * exact patching as fast; ACDC, which makes many sessions (each from files after a full GC), was
 * slower (BENCHMARKS.md). Below it (test and toy models), sessions are made from memory.
 */
export const SPILL_BYTES = 256 * 2 ** 20;

/**
 * The weights of a model loaded from `path`, as opened: spilled when asked or, by default, when
 * large. Weights read from a file are consumed as they are spilled (nothing else holds them), and
 * so are a Hub model's (`hf:` reads its cached files afresh each time); a registered model
 * source's (`builtin:` …) are not, as the source may hand the same arrays out again.
 */
const heldWeights = (
  path: string,
  weights: Weights,
  spillWeights: boolean | undefined,
): Effect.Effect<Weights, WeightFileError, Scope.Scope> => {
  let bytes = 0;
  for (const t of weights.values()) bytes += numel(t.shape) * 4;
  return (spillWeights ?? bytes > SPILL_BYTES)
    ? spill(weights, { consume: isHubPath(path) || !isSourcePath(path) })
    : Effect.succeed(weights);
};

/**
 * Load weights and tokenizer from a path and open a session cache for them; every session is
 * released when the enclosing Scope closes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Runtime } from "@patchbay/core";
 * import "@patchbay/zoo"; // registers builtin:<name> model paths
 * import { Effect } from "effect";
 *
 * const layers = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.gen(function* () {
 *       const model = yield* Runtime.openModel("builtin:induction", { threads: 1 });
 *       return model.config.nLayers; // sessions are released when the scope closes
 *     }),
 *   ),
 * );
 * assert.equal(layers, 2);
 * ```
 */
export const openModel = (
  path: string,
  opts: OpenOptions = {},
): Effect.Effect<OpenModel, PatchbayError, Scope.Scope> =>
  Effect.gen(function* () {
    const loaded = yield* loadModel(path);
    const tokenizer =
      opts.tokenizer !== undefined
        ? yield* loadTokenizer(opts.tokenizer)
        : yield* findTokenizer(loaded.folder ?? path);
    const weights = yield* heldWeights(path, loaded.weights, opts.spillWeights);
    const sessions = yield* makeSessionCache(loaded.config.name, opts);
    const quantization = loaded.quantization === undefined ? {} : { quantization: loaded.quantization };
    const revision = loaded.revision === undefined ? {} : { revision: loaded.revision };
    return {
      config: loaded.config,
      weights,
      source: path,
      tokenizer,
      sessions,
      ...quantization,
      ...revision,
    };
  });

/**
 * The model's tokenizer, or an InputError saying where one was looked for.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Runtime } from "@patchbay/core";
 * import "@patchbay/zoo";
 * import { Effect } from "effect";
 *
 * // builtin:induction works on ids and has no tokenizer: the failure says where one was looked for
 * const error = await Effect.runPromise(
 *   Effect.scoped(Effect.flip(Effect.flatMap(Runtime.openModel("builtin:induction"), Runtime.requireTokenizer))),
 * );
 * assert.equal(error._tag, "InputError");
 * ```
 */
export const requireTokenizer = (m: OpenModel): Effect.Effect<Tokenizer, InputError> =>
  m.tokenizer !== null
    ? Effect.succeed(m.tokenizer)
    : Effect.fail(
        new InputError({
          field: "--tokenizer",
          expected: `a tokenizer beside or inside ${m.source}, or --tokenizer PATH`,
          found: "none",
        }),
      );
