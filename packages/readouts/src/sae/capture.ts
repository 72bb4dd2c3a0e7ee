import { attempt, InputError, type RuntimeError } from "@patchbay/core/errors";
import { lookupSite } from "@patchbay/core/sites";
import type { Model, ModelConfig } from "@patchbay/core/model";
import { type Plan, plan, type Positions, runPlan } from "@patchbay/core/engine";
import type { SessionCache } from "@patchbay/core/runtime";
import { Effect } from "effect";

/**
 * A site's activations over a dataset, one row per (prompt, position) token.
 *   data      [n, d]  float32, d = Π of the site's axes after [batch, pos] (heads are flattened)
 *   example   [n]     which prompt each row came from
 *   position  [n]     which position
 */
export interface Activations {
  readonly site: string;
  readonly d: number;
  readonly n: number;
  readonly data: Float32Array;
  readonly example: Int32Array;
  readonly position: Int32Array;
}

/**
 * The canonical name and vector size of a site an SAE can read: [batch, pos, …rest] with no
 * key_pos axis (attention scores and patterns are not per-token vectors). d = Π rest.
 *
 * Returns `{ name, d }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { inductionModel } from "@patchbay/zoo";
 * import { saeSite } from "@patchbay/readouts";
 * const c = inductionModel().config;
 * assert.deepEqual(saeSite(c, "blocks.1.resid_pre"), { name: "blocks.1.resid_pre", d: c.dModel });
 * assert.throws(() => saeSite(c, "blocks.0.attn.hook_pattern")); // not a per-token vector
 * ```
 */
export const saeSite = (c: ModelConfig, site: string, field = "site"): { name: string; d: number } => {
  const r = lookupSite(c, site);
  if (!r.ok)
    throw new InputError({
      field,
      expected: `a site of ${c.name}; nearest: ${r.suggestions.join(", ")}`,
      found: JSON.stringify(site),
    });
  const dims = r.site.dims;
  if (dims[0] !== "batch" || dims[1] !== "pos" || dims.includes("key_pos") || dims.length < 3)
    throw new InputError({
      field,
      expected: "a per-token site of shape [batch, pos, …] without a key_pos axis",
      found: `${r.site.name} [${dims.join(", ")}]`,
    });
  const sizes: Record<string, number> = {
    head: c.nHeads,
    kv_head: c.nKvHeads,
    d_model: c.dModel,
    d_head: c.dHead,
    d_mlp: c.dMlp ?? 0,
    d_vocab: c.vocabSize,
    "1": 1,
  };
  return { name: r.site.name, d: dims.slice(2).reduce((k, a) => k * sizes[a]!, 1) };
};

/**
 * Positions for every prompt of a dataset: "all" → 0..len−1, one list → the same for each, a list
 * per prompt → its own. Every position is checked against its prompt's length.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { positionsFor } from "@patchbay/readouts";
 *
 * assert.deepEqual(positionsFor("all", [3, 2]), [[0, 1, 2], [0, 1]]);
 * assert.deepEqual(positionsFor([0], [3, 2]), [[0], [0]]);
 * assert.throws(() => positionsFor([5], [3, 2])); // past a prompt's end
 * ```
 */
export const positionsFor = (p: Positions, lengths: readonly number[], field = "positions"): number[][] => {
  if (p === "all") return lengths.map((n) => Array.from({ length: n }, (_, i) => i));
  const perPrompt = p.length > 0 && Array.isArray(p[0]);
  if (perPrompt && p.length !== lengths.length)
    throw new InputError({
      field,
      expected: `one position list per prompt (${lengths.length})`,
      found: `${p.length} lists`,
    });
  return lengths.map((len, b) => {
    const ps = (perPrompt ? (p as readonly (readonly number[])[])[b]! : (p as readonly number[])) ?? [];
    return ps.map((q, j) => {
      if (!(Number.isInteger(q) && q >= 0 && q < len))
        throw new InputError({
          field: perPrompt ? `${field}[${b}][${j}]` : `${field}[${j}]`,
          expected: `a position in [0, ${len}) (prompt ${b} has ${len} tokens)`,
          found: String(q),
        });
      return q;
    });
  });
};

export const capturePlan = (site: string): Plan => plan({ captures: [site], logits: false });

/**
 * Capture a site at the given positions over prompts, through the engine in chunks of
 * `chunkSize` prompts (memory: one chunk's capture plus the rows kept).
 *
 * Returns Activations `{ site, d, n, data [n·d], example, position }`: one row per captured token.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSessionCache } from "@patchbay/core/runtime";
 * import { inductionModel, inductionTask } from "@patchbay/zoo";
 * import { Effect } from "effect";
 * import { captureActivations } from "@patchbay/readouts";
 * const model = inductionModel(); // the compiled 2-layer induction model
 * const prompts = inductionTask(0, 2, { blockLen: 4 }).clean;
 * const r = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.flatMap(makeSessionCache("doc", { threads: 1 }), (cache) =>
 *       captureActivations(cache, model, "blocks.1.resid_pre", "all", prompts),
 *     ),
 *   ),
 * );
 * assert.equal(r.n, prompts[0]!.length * 2); // every position of both prompts
 * assert.equal(r.data.length, r.n * r.d);
 * ```
 */
export const captureActivations = (
  cache: SessionCache,
  model: Model,
  site: string,
  positions: Positions,
  prompts: readonly (readonly number[])[],
  chunkSize = 16,
): Effect.Effect<Activations, InputError | RuntimeError> =>
  Effect.gen(function* () {
    const { name, d } = yield* attempt(() => saeSite(model.config, site), InputError);
    if (prompts.length === 0)
      return yield* new InputError({ field: "prompts", expected: "at least one prompt", found: "none" });
    const pos = yield* attempt(
      () =>
        positionsFor(
          positions,
          prompts.map((s) => s.length),
        ),
      InputError,
    );
    const n = pos.reduce((k, ps) => k + ps.length, 0);
    const data = new Float32Array(n * d);
    const example = new Int32Array(n);
    const position = new Int32Array(n);
    let row = 0;
    const capture = capturePlan(name);
    for (let start = 0; start < prompts.length; start += chunkSize) {
      const chunk = prompts.slice(start, start + chunkSize);
      const r = yield* runPlan(cache, model, capture, chunk);
      const x = r.sites.get(name)!; //                                [b, P, …rest]
      const P = x.shape[1]!;
      for (let b = 0; b < chunk.length; b++)
        for (const p of pos[start + b]!) {
          data.set(x.data.subarray((b * P + p) * d, (b * P + p + 1) * d), row * d);
          example[row] = start + b;
          position[row] = p;
          row++;
        }
    }
    return { site: name, d, n, data, example, position };
  });
