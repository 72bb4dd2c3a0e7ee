import { type Model, mulberry32 } from "@patchbay/core/model";
import type { RuntimeError, InputError } from "@patchbay/core/errors";
import type { SessionCache } from "@patchbay/core/runtime";
import { INDUCTION_BOS } from "@patchbay/zoo";
import { type Effect, Schema } from "effect";
import { probeSites } from "./probe.ts";
import { ProbeSpec, type ProbeData, type ProbeResult } from "./spec.ts";

/**
 * Built-in example: where does the compiled induction model (zoo/induction.ts, builtin:induction)
 * represent "the previous token"? Prompts are [BOS, t_1, …, t_{L−1}] with t_i uniform in
 * 1 … V − 1; each position p ≥ 2 is labelled with t_{p−1} (positions 0 and 1 are left out: their
 * previous token is BOS or nothing, which POS alone would give away). The control's word type is
 * the current token, as in Hewitt & Liang.
 *
 * Expected, from the construction: at blocks.0.resid_pre the stream holds only TOK(t_p) and
 * POS(p), both independent of t_{p−1}, so the held-out accuracy is at chance; the previous-token
 * head a0.h1 writes PREV(t_{p−1}) as a one-hot, so from blocks.0.attn_out on (blocks.1.resid_pre,
 * blocks.1.resid_post) the label is linearly decodable exactly. The control (current token → random
 * label) is decodable wherever TOK is, i.e. in the residual stream everywhere, so selectivity there
 * is ≈ 0 at best: the residual stream keeps the token's identity, which is what a control task
 * detects.
 *
 * Returns ProbeData `{ prompts, positions, labels }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { prevTokenData } from "@patchbay/readouts";
 *
 * const d = prevTokenData({ seed: 0, prompts: 2, length: 5, vocabSize: 32 });
 * const [seq] = d.prompts;
 * assert.deepEqual(d.positions[0], [2, 3, 4]);
 * assert.equal(d.labels[0]![0], seq![1]); // the label at position 2 is the token at 1
 * ```
 */
export const prevTokenData = (opts: {
  readonly seed: number;
  readonly prompts: number;
  readonly length: number;
  readonly vocabSize: number;
}): ProbeData => {
  const rand = mulberry32(opts.seed);
  const prompts: number[][] = [];
  const positions: number[][] = [];
  const labels: number[][] = [];
  for (let b = 0; b < opts.prompts; b++) {
    const seq = [INDUCTION_BOS];
    for (let p = 1; p < opts.length; p++) seq.push(1 + Math.floor(rand() * (opts.vocabSize - 1)));
    prompts.push(seq);
    const ps = Array.from({ length: opts.length - 2 }, (_, i) => i + 2);
    positions.push(ps);
    labels.push(ps.map((p) => seq[p - 1]!));
  }
  return { prompts, positions, labels };
};

/** The sites of the example, in stream order. */
export const PREV_TOKEN_SITES = [
  "blocks.0.resid_pre",
  "blocks.0.attn_out",
  "blocks.1.resid_pre",
  "blocks.1.resid_post",
] as const;

/**
 * Probe every site of PREV_TOKEN_SITES for the previous token on the induction model.
 *
 * Returns one ProbeResult per site of PREV_TOKEN_SITES.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSessionCache } from "@patchbay/core/runtime";
 * import { inductionModel } from "@patchbay/zoo";
 * import { Effect } from "effect";
 * import { PREV_TOKEN_SITES, prevTokenProbe } from "@patchbay/readouts";
 * const model = inductionModel();
 * const r = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.flatMap(makeSessionCache("doc", { threads: 1 }), (cache) =>
 *       prevTokenProbe(cache, model, { prompts: 12, length: 8 }),
 *     ),
 *   ),
 * );
 * assert.deepEqual(r.map((p) => p.site), [...PREV_TOKEN_SITES]);
 * ```
 */
export const prevTokenProbe = (
  cache: SessionCache,
  model: Model,
  opts: { readonly seed?: number; readonly prompts?: number; readonly length?: number } = {},
): Effect.Effect<ProbeResult[], InputError | RuntimeError> => {
  const data = prevTokenData({
    seed: opts.seed ?? 1,
    prompts: opts.prompts ?? 64,
    length: opts.length ?? 16,
    vocabSize: model.config.vocabSize,
  });
  const spec = Schema.decodeUnknownSync(ProbeSpec)({ site: PREV_TOKEN_SITES[0], seed: opts.seed ?? 1 });
  return probeSites(cache, model, spec, PREV_TOKEN_SITES, data);
};
