import { InputError, type RuntimeError } from "@patchbay/core/errors";
import type { Model } from "@patchbay/core/model";
import { plan, runPlan } from "@patchbay/core/engine";
import type { SessionCache } from "@patchbay/core/runtime";
import { Effect, Schema } from "effect";

/**
 * Attention-head entropy: how spread out each head's attention is. For layer l, head h, prompt b
 * and query position q, over the pattern p = softmax of the masked scores (the engine's
 * `blocks.l.attn.pattern`, TransformerLens `blocks.l.attn.hook_pattern`, [batch, head, pos, key_pos]):
 *
 *   H_{l,h}(b, q) = −Σ_k p_k log p_k        (nats; a masked key has p_k = 0 and 0·log 0 = 0)
 *
 * reported as the mean over every prompt and every query position of it, [layer][head], and per
 * query position (mean over the prompts that reach it), [layer][head][pos]. A head that attends to
 * one key has entropy 0; uniform attention over the q + 1 visible keys gives log(q + 1).
 */
export const AttentionEntropySpec = Schema.Struct({
  perPosition: Schema.optionalWith(Schema.Boolean, { default: () => true }).annotations({
    description: "also report the entropy per query position (mean over the prompts that reach it)",
  }),
});
export type AttentionEntropySpec = typeof AttentionEntropySpec.Type;

export interface AttentionEntropyResult {
  readonly kind: "attention-entropy";
  /** mean over prompts and query positions, [layer][head], in nats */
  readonly mean: number[][];
  /** per query position q, mean over the prompts longer than q, [layer][head][pos] (spec.perPosition) */
  readonly perPosition?: number[][][];
  /** how many prompts reach each query position [pos] */
  readonly prompts: number[];
}

/**
 * −Σ_k p_k log p_k of one row of attention (0·log 0 = 0), accumulated in float64.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rowEntropy } from "@patchbay/readouts";
 *
 * assert.ok(Math.abs(rowEntropy([0.5, 0.5, 0], 0, 3) - Math.log(2)) < 1e-12);
 * ```
 */
export const rowEntropy = (p: ArrayLike<number>, from: number, n: number): number => {
  let h = 0;
  for (let k = 0; k < n; k++) {
    const x = p[from + k]!;
    if (x > 0) h -= x * Math.log(x);
  }
  return h;
};

/**
 * The entropies of one captured pattern [B, H, P, P] with prompt lengths: per (head, query) summed
 * over the prompts, and how many prompts reach each query. Keys past a prompt's length are padding
 * (their probability is 0 under the causal mask).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { patternEntropy } from "@patchbay/readouts";
 *
 * // one prompt, one head, 2 positions: query 0 sees itself, query 1 splits evenly
 * const { sum, count } = patternEntropy([1, 0, 0.5, 0.5], [1, 1, 2, 2], [2]);
 * assert.equal(sum[0], 0);
 * assert.ok(Math.abs(sum[1]! - Math.log(2)) < 1e-12);
 * assert.deepEqual([...count], [1, 1]);
 * ```
 */
export const patternEntropy = (
  pattern: ArrayLike<number>,
  shape: readonly [number, number, number, number],
  lengths: readonly number[],
): { readonly sum: Float64Array; readonly count: Float64Array } => {
  const [B, H, P] = shape;
  const sum = new Float64Array(H * P); // [head, pos]
  const count = new Float64Array(P);
  for (let b = 0; b < B; b++) {
    const n = lengths[b]!;
    for (let q = 0; q < n; q++) count[q]! += 1;
    for (let h = 0; h < H; h++)
      for (let q = 0; q < n; q++) sum[h * P + q]! += rowEntropy(pattern, ((b * H + h) * P + q) * P, n);
  }
  return { sum, count };
};

/**
 * The mean entropy of each head's attention (per layer and head; per query position on request): `{ kind, mean, perPosition?, prompts }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSessionCache } from "@patchbay/core/runtime";
 * import { inductionModel, inductionTask } from "@patchbay/zoo";
 * import { Effect } from "effect";
 * import { attentionEntropy } from "@patchbay/readouts";
 * const model = inductionModel(); // the compiled 2-layer induction model
 * const prompts = inductionTask(0, 2, { blockLen: 4 }).clean;
 * const r = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.flatMap(makeSessionCache("doc", { threads: 1 }), (cache) =>
 *       attentionEntropy(cache, model, { perPosition: false }, { prompts }),
 *     ),
 *   ),
 * );
 * assert.equal(r.mean.length, 2); // [layer][head]
 * assert.equal(r.mean[0]!.length, 4);
 * ```
 */
export const attentionEntropy = (
  cache: SessionCache,
  model: Model,
  spec: AttentionEntropySpec,
  data: { readonly prompts: readonly (readonly number[])[] },
): Effect.Effect<AttentionEntropyResult, InputError | RuntimeError> =>
  Effect.gen(function* () {
    if (data.prompts.length === 0)
      return yield* new InputError({ field: "data.prompts", expected: "at least one prompt", found: "[]" });
    const { nLayers, nHeads: H } = model.config;
    const sites = Array.from({ length: nLayers }, (_, l) => `blocks.${l}.attn.pattern`);
    const out = yield* runPlan(cache, model, plan({ captures: sites, logits: false }), data.prompts);
    const P = out.lengths.reduce((a, b) => Math.max(a, b), 0);
    const B = data.prompts.length;
    const positions = out.lengths.reduce((a, b) => a + b, 0);
    const mean: number[][] = [];
    const perPosition: number[][][] = [];
    let count: Float64Array = new Float64Array(P);
    for (const site of sites) {
      const a = out.sites.get(site)!.data;
      const bad = a.findIndex((x) => !Number.isFinite(x));
      if (bad >= 0)
        return yield* new InputError({
          field: "data.prompts",
          expected: `finite attention patterns at ${site}`,
          found: `${a[bad]} at flat index ${bad}`,
        });
      const e = patternEntropy(a, [B, H, P, P], out.lengths);
      count = e.count;
      mean.push(
        Array.from({ length: H }, (_, h) => {
          let s = 0;
          for (let q = 0; q < P; q++) s += e.sum[h * P + q]!;
          return s / positions;
        }),
      );
      perPosition.push(
        Array.from({ length: H }, (_, h) =>
          Array.from({ length: P }, (_, q) => e.sum[h * P + q]! / e.count[q]!),
        ),
      );
    }
    return {
      kind: "attention-entropy",
      mean,
      ...(spec.perPosition ? { perPosition } : {}),
      prompts: [...count],
    };
  });
