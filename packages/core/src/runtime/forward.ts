import { Effect } from "effect";
import * as ort from "onnxruntime-node";
import { attempt, InputError, RuntimeError } from "../errors/index.ts";
import type { Model, ModelConfig } from "../model/index.ts";
import { lookupSite } from "../model/sites.ts";
import type { HostTensor } from "../tensor/index.ts";
import { ATTN_MASK, buildTransformerGraph, INPUT_IDS, POSITIONS } from "../transformer/index.ts";
import { type Batch, makeBatch } from "./batch.ts";
import { checkLogits } from "./finite.ts";
import type { SessionCache } from "./session.ts";

export interface ForwardResult {
  /** [batch, pos, d_vocab]; rows past a sequence's length are padding. */
  readonly logits: HostTensor;
  /** Each requested site, under the name it was asked for. */
  readonly sites: ReadonlyMap<string, HostTensor>;
  readonly lengths: readonly number[];
}

/** Canonical names for requested sites (patchbay or TransformerLens spelling); unknown → InputError. */
export const resolveSites = (c: ModelConfig, names: readonly string[]): string[] =>
  names.map((n) => {
    const r = lookupSite(c, n);
    if (!r.ok) {
      throw new InputError({
        field: `site ${JSON.stringify(n)}`,
        expected: `a site of ${c.name} (see \`patchbay sites\`); nearest: ${r.suggestions.join(", ")}`,
        found: "no such site",
      });
    }
    return r.site.name;
  });

/** Graph inputs for a batch, limited to those the graph declares. */
export const feeds = (batch: Batch, inputNames: readonly string[]): Record<string, ort.Tensor> => {
  const all: Record<string, ort.Tensor> = {
    [INPUT_IDS]: new ort.Tensor("int64", batch.ids, [batch.batch, batch.pos]),
    [POSITIONS]: new ort.Tensor("int64", batch.positions, [batch.batch, batch.pos]),
    [ATTN_MASK]: new ort.Tensor("bool", batch.mask, [batch.batch, 1, batch.pos, batch.pos]),
  };
  return Object.fromEntries(inputNames.map((n) => [n, all[n]!]));
};

/**
 * Run a session on a batch: `values` binds the inputs it names that the session declares, and the
 * batch binds the rest (ids, positions, mask); a failure is a RuntimeError naming the operation.
 */
export const runBatch = (
  model: string,
  session: ort.InferenceSession,
  batch: Batch,
  values: Readonly<Record<string, ort.Tensor>>,
  operation: string,
): Effect.Effect<ort.InferenceSession.OnnxValueMapType, RuntimeError> =>
  Effect.tryPromise({
    try: () => {
      const names = session.inputNames;
      const bound = Object.fromEntries(names.filter((n) => n in values).map((n) => [n, values[n]!]));
      return session.run({
        ...feeds(
          batch,
          names.filter((n) => !(n in values)),
        ),
        ...bound,
      });
    },
    catch: (cause) => new RuntimeError({ model, operation, cause }),
  });

export const toHost = (t: ort.Tensor): HostTensor => ({
  data: t.data as Float32Array,
  shape: t.dims.map(Number),
});

/**
 * Logits plus the requested sites for a batch of token sequences. Each distinct set of captured
 * sites is one graph variant, compiled once and cached by the session cache. Sequences must fit
 * the model's context (unless the cache's options allow long context for a rotary model), and
 * non-finite logits are a RuntimeError naming the example, position and id (runtime/finite.ts).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Runtime } from "@patchbay/core";
 * import "@patchbay/zoo";
 * import { Effect } from "effect";
 *
 * const { logits, sites } = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.gen(function* () {
 *       const model = yield* Runtime.openModel("builtin:induction");
 *       // both spellings of a site work: patchbay and TransformerLens
 *       return yield* Runtime.forward(model.sessions, model, [[1, 2, 3], [4, 5]], [
 *         "blocks.0.attn.pattern",
 *         "blocks.1.hook_resid_pre",
 *       ]);
 *     }),
 *   ),
 * );
 * assert.deepEqual(logits.shape, [2, 3, 32]); // [batch, pos, d_vocab], the shorter row right-padded
 * assert.deepEqual(sites.get("blocks.0.attn.pattern")?.shape, [2, 4, 3, 3]); // [batch, head, pos, key_pos]
 * ```
 */
export const forward = (
  cache: SessionCache,
  model: Model,
  seqs: readonly (readonly number[])[],
  capture: readonly string[] = [],
): Effect.Effect<ForwardResult, InputError | RuntimeError> =>
  Effect.gen(function* () {
    const { batch, canonical } = yield* attempt(
      () => ({
        batch: makeBatch(model.config, seqs, "ids", cache.options),
        canonical: resolveSites(model.config, capture),
      }),
      InputError,
    );
    const sites = [...new Set(canonical)].sort();
    const key = `forward:${sites.join(",")}`;
    const session = yield* cache.get(
      key,
      () => buildTransformerGraph(model.config, model.weights, { capture: sites }).graph,
    );
    const out = yield* Effect.tryPromise({
      try: () => session.run(feeds(batch, session.inputNames)),
      catch: (cause) => new RuntimeError({ model: cache.model, operation: "forward", cause }),
    });
    const logits = toHost(out.logits!);
    const bad = checkLogits(cache.model, "forward", logits, batch.lengths);
    if (bad !== null) return yield* bad;
    const requested = new Map(capture.map((n, i) => [n, toHost(out[canonical[i]!]!)] as const));
    return { logits, sites: requested, lengths: batch.lengths };
  });
