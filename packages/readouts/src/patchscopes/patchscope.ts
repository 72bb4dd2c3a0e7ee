import { argmax, type SessionCache } from "@patchbay/core/runtime";
import { attempt, InputError, type RuntimeError } from "@patchbay/core/errors";
import { lookupSite } from "@patchbay/core/sites";
import type { ModelConfig } from "@patchbay/core/model";
import { plan, runPlan } from "@patchbay/core/engine";
import { Effect } from "effect";
import type { LensModel } from "../lens/decode.ts";
import { logSoftmax } from "../lens/numeric.ts";
import { applyMapping, checkMapping } from "./mapping.ts";
import type { PatchscopeSpec } from "./spec.ts";

/** One patchscope example: source prompt S, target prompt T (token ids) and, optionally, the expected token. */
export interface PatchscopeExample {
  readonly source: readonly number[];
  readonly target: readonly number[];
  readonly expected?: number;
}

/** The other end of a cross-model patchscope: its own session cache (sessions are per model). */
export interface Endpoint {
  readonly cache: SessionCache;
  readonly model: LensModel;
}

export interface PatchscopeExampleResult {
  /** The k greedily generated ids and, with a tokenizer, their text. */
  readonly generated: readonly number[];
  readonly text: string | null;
  /** argmax of the readout position's next-token distribution (= the first generated token at readout −1). */
  readonly top: { readonly id: number; readonly token: string | null; readonly prob: number };
  readonly expected: number | null;
  /** top.id = expected (precision@1 of this example). */
  readonly correct: boolean | null;
  /** −log p(expected) at the readout position, in nats. */
  readonly surprisal: number | null;
}

export interface PatchscopeResult {
  readonly examples: readonly PatchscopeExampleResult[];
  /** Means over the examples that have an expected token (null when none has). */
  readonly precisionAt1: number | null;
  readonly meanSurprisal: number | null;
}

const resolvePos = (p: number, len: number, field: string): number => {
  const q = p < 0 ? len + p : p;
  if (!Number.isInteger(q) || q < 0 || q >= len)
    throw new InputError({ field, expected: `a position in [−${len}, ${len})`, found: String(p) });
  return q;
};

/** A [batch, pos, d_model] site's canonical name, or an InputError naming the field. */
const residualLike = (c: ModelConfig, name: string, field: string): string => {
  const hit = lookupSite(c, name);
  if (!hit.ok)
    throw new InputError({
      field,
      expected: `a site of ${c.name} (nearest: ${hit.suggestions.join(", ")})`,
      found: JSON.stringify(name),
    });
  if (hit.site.dims.join(",") !== "batch,pos,d_model")
    throw new InputError({
      field,
      expected: "a [batch, pos, d_model] site (the residual stream or a block output)",
      found: `${hit.site.name} [${hit.site.dims.join(", ")}]`,
    });
  return hit.site.name;
};

/**
 * Run a patchscope on a batch of examples, through the engine:
 * 1. one run on the source model captures h = site ℓ of S at position i (per example);
 * 2. the target plan replaces site ℓ* of T at position i* with f(h) (a `replace` intervention
 *    with per-example positions), and its logits at the readout position give precision@1 and the
 *    surprisal −log p(expected);
 * 3. generation: k greedy steps, each an uncached forward of the target plan on T plus the tokens
 *    generated so far, with the patch re-applied at i* on every step (there is no KV cache, so the
 *    patched prefix is recomputed; i* stays fixed as tokens are appended after it).
 * Without `target`, the target model is the source model.
 *
 * Returns `{ examples: [{ generated, text, top, expected, correct, surprisal }], precisionAt1, meanSurprisal }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSessionCache } from "@patchbay/core/runtime";
 * import { inductionModel, inductionTask } from "@patchbay/zoo";
 * import { Effect } from "effect";
 * import { runPatchscope } from "@patchbay/readouts";
 * const model = inductionModel(); // the compiled 2-layer induction model
 * const prompts = inductionTask(0, 2, { blockLen: 4 }).clean;
 * const spec = {
 *   source: { site: "blocks.1.resid_post", position: -1 },
 *   target: { site: "blocks.1.resid_post", position: -1 },
 *   mapping: { _tag: "identity" as const },
 *   generate: 1,
 *   readout: -1,
 * };
 * // patching the last residual into the same prompt at the same site changes nothing
 * const examples = prompts.map((p) => ({ source: p, target: p }));
 * const r = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.flatMap(makeSessionCache("doc", { threads: 1 }), (cache) =>
 *       runPatchscope(cache, model, spec, { examples }),
 *     ),
 *   ),
 * );
 * assert.equal(r.examples.length, 2);
 * assert.equal(r.precisionAt1, null); // no expected tokens given
 * ```
 */
export const runPatchscope = (
  cache: SessionCache,
  model: LensModel,
  spec: PatchscopeSpec,
  data: { readonly examples: readonly PatchscopeExample[] },
  target?: Endpoint,
): Effect.Effect<PatchscopeResult, InputError | RuntimeError> =>
  Effect.gen(function* () {
    const tgt: Endpoint = target ?? { cache, model };
    const cs = model.config;
    const ct = tgt.model.config;
    const ex = data.examples;
    const prep = yield* attempt(() => {
      if (ex.length === 0)
        throw new InputError({ field: "data.examples", expected: "at least one example", found: "[]" });
      const srcSite = residualLike(cs, spec.source.site, "source.site");
      const tgtSite = residualLike(ct, spec.target.site, "target.site");
      checkMapping(spec.mapping, cs.dModel, ct.dModel);
      const srcPos = ex.map((e, b) =>
        resolvePos(spec.source.position, e.source.length, `examples[${b}].source.position`),
      );
      const tgtPos = ex.map((e, b) =>
        resolvePos(spec.target.position, e.target.length, `examples[${b}].target.position`),
      );
      const readPos = ex.map((e, b) => resolvePos(spec.readout, e.target.length, `examples[${b}].readout`));
      ex.forEach((e, b) => {
        if (
          e.expected !== undefined &&
          !(Number.isInteger(e.expected) && e.expected >= 0 && e.expected < ct.vocabSize)
        )
          throw new InputError({
            field: `examples[${b}].expected`,
            expected: `a token id of the target model in [0, ${ct.vocabSize})`,
            found: String(e.expected),
          });
      });
      return { srcSite, tgtSite, srcPos, tgtPos, readPos };
    }, InputError);
    // 1. h [B, d_src] from the source
    const cap = yield* runPlan(
      cache,
      model,
      plan({ captures: [prep.srcSite], logits: false }),
      ex.map((e) => e.source),
    );
    const hs = cap.sites.get(prep.srcSite)!;
    const Ps = hs.shape[1]!;
    const ds = cs.dModel;
    const patches = yield* attempt(
      () =>
        ex.map((_, b) => {
          const row = hs.data.subarray((b * Ps + prep.srcPos[b]!) * ds, (b * Ps + prep.srcPos[b]! + 1) * ds);
          const v = applyMapping(spec.mapping, row);
          if (!v.every(Number.isFinite))
            throw new InputError({
              field: "mapping",
              expected: "a finite f(h)",
              found: `non-finite f(h) in example ${b}`,
            });
          return v;
        }),
      InputError,
    );
    // 2–3. patched target runs
    const patched = plan({
      interventions: [
        { _tag: "replace", target: { site: prep.tgtSite, positions: prep.tgtPos.map((p) => [p]) } },
      ],
    });
    const dt = ct.dModel;
    const V = ct.vocabSize;
    const runTarget = (seqs: readonly (readonly number[])[]) => {
      const P = Math.max(...seqs.map((s) => s.length));
      // value [B, P, d_tgt]: f(h_b) at (b, i*_b); the mask of the intervention ignores every other row
      const value = new Float32Array(seqs.length * P * dt);
      patches.forEach((v, b) => {
        value.set(v, (b * P + prep.tgtPos[b]!) * dt);
      });
      return Effect.map(
        runPlan(tgt.cache, tgt.model, patched, seqs, {
          interventions: [{ value: { data: value, shape: [seqs.length, P, dt] } }],
        }),
        (r) => ({ logits: r.logits!.data, P }),
      );
    };
    let seqs = ex.map((e) => [...e.target]);
    const first = yield* runTarget(seqs);
    const row = (logits: Float32Array, P: number, b: number, p: number) =>
      logits.subarray((b * P + p) * V, (b * P + p + 1) * V);
    const tok = tgt.model.tokenizer ?? null;
    const scored = ex.map((e, b) => {
      const lp = logSoftmax(row(first.logits, first.P, b, prep.readPos[b]!));
      const top = argmax(Float32Array.from(lp));
      return {
        top: { id: top, token: tok === null ? null : tok.idToToken(top), prob: Math.exp(lp[top]!) },
        expected: e.expected ?? null,
        correct: e.expected === undefined ? null : top === e.expected,
        surprisal: e.expected === undefined ? null : -lp[e.expected]!,
      };
    });
    const generated: number[][] = ex.map(() => []);
    let out = first;
    for (let step = 0; step < spec.generate; step++) {
      if (step > 0) out = yield* runTarget(seqs);
      const o = out;
      seqs = seqs.map((s, b) => {
        const next = argmax(row(o.logits, o.P, b, s.length - 1));
        generated[b]!.push(next);
        return [...s, next];
      });
    }
    const results: PatchscopeExampleResult[] = scored.map((s, b) => ({
      generated: generated[b]!,
      text: tok === null ? null : tok.decode(generated[b]!),
      ...s,
    }));
    const withExp = results.filter((r) => r.expected !== null);
    return {
      examples: results,
      precisionAt1: withExp.length === 0 ? null : withExp.filter((r) => r.correct).length / withExp.length,
      meanSurprisal:
        withExp.length === 0 ? null : withExp.reduce((a, r) => a + r.surprisal!, 0) / withExp.length,
    };
  });
