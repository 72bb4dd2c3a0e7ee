import { Effect } from "effect";
import { InputError, type RuntimeError } from "../errors/index.ts";
import type { Model } from "../model/index.ts";
import { contextExpectation, contextLimit } from "./context.ts";
import { forward } from "./forward.ts";
import type { SessionCache } from "./session.ts";

export interface GenerateOptions {
  readonly maxTokens: number;
  /** 0 = greedy (argmax, ties to the lowest id); otherwise sample from softmax(logits / T). */
  readonly temperature: number;
  /** Uniform [0, 1) source for sampling; required when temperature > 0 (seeded for determinism). */
  readonly uniform?: () => number;
  /** Stop after emitting this id (e.g. EOS); null = never stop early. */
  readonly stopAt?: number | null;
}

/**
 * Index of the largest value (first on ties).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { argmax } from "@patchbay/core/runtime";
 *
 * assert.equal(argmax(new Float32Array([0.1, 2, 2, -1])), 1);
 * ```
 */
export const argmax = (row: Float32Array): number => {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
};

/**
 * Sample from softmax(row / T): p_i = exp((x_i − max)/T) / Σ_j exp((x_j − max)/T).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sampleTemperature } from "@patchbay/core/runtime";
 *
 * const row = new Float32Array([0, 10, 0]);
 * assert.equal(sampleTemperature(row, 1, 0.5), 1); // u = 0.5 falls in the dominant token's mass
 * ```
 */
export const sampleTemperature = (row: Float32Array, temperature: number, u: number): number => {
  let max = Number.NEGATIVE_INFINITY;
  for (const x of row) if (x > max) max = x;
  const p = new Float64Array(row.length);
  let sum = 0;
  for (let i = 0; i < row.length; i++) {
    p[i] = Math.exp((row[i]! - max) / temperature);
    sum += p[i]!;
  }
  let acc = 0;
  const target = u * sum;
  for (let i = 0; i < row.length; i++) {
    acc += p[i]!;
    if (target < acc) return i;
  }
  return row.length - 1;
};

/**
 * Autoregressive continuation of `prompt`: each step runs the full forward on the sequence so far
 * (no KV cache: the graphs stay the plain forward, which every intervention plan extends) and
 * picks the next id from the last position's logits. Returns only the new ids.
 *
 * The longest sequence it runs on, prompt + maxTokens − 1 (the last new id is never fed back),
 * must fit the model's context (runtime/context.ts): checked up front, before any compute, so a
 * huge maxTokens is an InputError at once rather than a run that never ends. Rotary models may go
 * past it when the cache's options allow long context; the loop still stops after maxTokens.
 * Non-finite logits are a RuntimeError (from forward), never an arbitrary argmax.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Runtime } from "@patchbay/core";
 * import "@patchbay/zoo";
 * import { Effect } from "effect";
 *
 * const ids = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.gen(function* () {
 *       const model = yield* Runtime.openModel("builtin:induction");
 *       return yield* Runtime.generate(model.sessions, model, [1, 5, 9, 5], { maxTokens: 3, temperature: 0 });
 *     }),
 *   ),
 * );
 * assert.equal(ids.length, 3); // only the new ids
 * ```
 */
export const generate = (
  cache: SessionCache,
  model: Model,
  prompt: readonly number[],
  opts: GenerateOptions,
): Effect.Effect<number[], InputError | RuntimeError> =>
  Effect.gen(function* () {
    if (opts.temperature > 0 && opts.uniform === undefined) {
      return yield* new InputError({
        field: "temperature",
        expected: "a seeded uniform source when sampling (temperature > 0)",
        found: "none",
      });
    }
    if (!Number.isSafeInteger(opts.maxTokens) || opts.maxTokens < 0) {
      return yield* new InputError({
        field: "maxTokens",
        expected: "a non-negative integer",
        found: String(opts.maxTokens),
      });
    }
    const limit = contextLimit(model.config, cache.options);
    if (prompt.length > limit) {
      return yield* new InputError({
        field: "prompt",
        expected: contextExpectation(model.config, cache.options),
        found: `${prompt.length} tokens`,
      });
    }
    const longest = prompt.length + opts.maxTokens - 1;
    if (longest > limit) {
      return yield* new InputError({
        field: "maxTokens",
        expected: `prompt + maxTokens − 1 (the longest sequence the model runs on) ${contextExpectation(model.config, cache.options)}`,
        found: `${prompt.length} prompt tokens + maxTokens ${opts.maxTokens} − 1 = ${longest} tokens`,
      });
    }
    const seq = [...prompt];
    const out: number[] = [];
    for (let step = 0; step < opts.maxTokens; step++) {
      const { logits } = yield* forward(cache, model, [seq]);
      const V = model.config.vocabSize;
      const row = logits.data.subarray((seq.length - 1) * V, seq.length * V);
      const next =
        opts.temperature <= 0 ? argmax(row) : sampleTemperature(row, opts.temperature, opts.uniform!());
      out.push(next);
      seq.push(next);
      if (opts.stopAt !== undefined && opts.stopAt !== null && next === opts.stopAt) break;
    }
    return out;
  });
