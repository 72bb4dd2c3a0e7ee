import { InputError, type RuntimeError } from "@patchbay/core/errors";
import type { Model } from "@patchbay/core/model";
import { plan, runPlan } from "@patchbay/core/engine";
import type { SessionCache } from "@patchbay/core/runtime";
import { Effect } from "effect";
import { checkFinite } from "./input-site.ts";
import { attentionRollout } from "./rollout.ts";
import { type AttentionData, type AttentionSpec, attentionProblem } from "./spec.ts";

/**
 * Attention patterns of every layer and head (the engine's `blocks.l.attn.pattern`, TransformerLens
 * attn.hook_pattern: softmax over keys of the masked scores, [batch, head, pos, key_pos]) and
 * their rollout (./rollout.ts), as plain arrays trimmed to each prompt's own length.
 */
export interface AttentionExample {
  readonly ids: number[];
  /** [layer][head][query][key] (spec.patterns). */
  readonly patterns?: number[][][][];
  /** rollout_l [layer][query][key]; the last layer's is the full rollout (spec.rollout). */
  readonly rollout?: number[][][];
}

export interface AttentionResult {
  readonly kind: "attention";
  readonly residualWeight: number;
  readonly examples: AttentionExample[];
}

/**
 * Attention patterns [L][H][P][P] and/or attention rollout [L][P][P] per prompt: `{ kind, residualWeight, examples: [{ ids, patterns?, rollout? }] }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSessionCache } from "@patchbay/core/runtime";
 * import { inductionModel, inductionTask } from "@patchbay/zoo";
 * import { Effect } from "effect";
 * import { attentionPatterns } from "@patchbay/readouts";
 * const model = inductionModel(); // the compiled 2-layer induction model
 * const prompts = inductionTask(0, 2, { blockLen: 4 }).clean;
 * const r = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.flatMap(makeSessionCache("doc", { threads: 1 }), (cache) =>
 *       attentionPatterns(cache, model, { patterns: true, rollout: true, residualWeight: 0.5 }, { prompts }),
 *     ),
 *   ),
 * );
 * const [first] = r.examples;
 * assert.equal(first!.patterns!.length, 2); // layers
 * const row = first!.patterns![0]![0]![5]!; // layer 0, head 0, query 5
 * assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-4); // a distribution over keys
 * ```
 */
export const attentionPatterns = (
  cache: SessionCache,
  model: Model,
  spec: AttentionSpec,
  data: AttentionData,
): Effect.Effect<AttentionResult, InputError | RuntimeError> =>
  Effect.gen(function* () {
    const refused = attentionProblem(spec);
    if (refused !== null) return yield* refused;
    if (data.prompts.length === 0)
      return yield* Effect.fail(
        new InputError({ field: "data.prompts", expected: "at least one prompt", found: "[]" }),
      );
    const c = model.config;
    const sites = Array.from({ length: c.nLayers }, (_, l) => `blocks.${l}.attn.pattern`);
    const out = yield* runPlan(cache, model, plan({ captures: sites, logits: false }), data.prompts);
    const H = c.nHeads;
    const P = out.lengths.reduce((a, b) => Math.max(a, b), 0);
    const examples = data.prompts.map((ids, b): AttentionExample => {
      const n = out.lengths[b]!;
      // pattern [B, H, P, P] → [H][n][n] for example b
      const patterns = sites.map((s) => {
        const a = out.sites.get(s)!.data;
        checkFinite(a, `data.prompts[${b}]`, `attention patterns at ${s}`);
        return Array.from({ length: H }, (_, h) =>
          Array.from({ length: n }, (_, q) =>
            Array.from({ length: n }, (_, k) => a[((b * H + h) * P + q) * P + k]!),
          ),
        );
      });
      return {
        ids: [...ids],
        ...(spec.patterns ? { patterns } : {}),
        ...(spec.rollout ? { rollout: attentionRollout(patterns, spec.residualWeight) } : {}),
      };
    });
    return { kind: "attention", residualWeight: spec.residualWeight, examples };
  });
