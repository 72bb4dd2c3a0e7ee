import { attempt, InputError, type RuntimeError } from "@patchbay/core/errors";
import type { HostTensor } from "@patchbay/core/tensor";
import type { SessionCache } from "@patchbay/core/runtime";
import { Effect } from "effect";
import { captureResidual, decodeResidual, type LensModel } from "./decode.ts";
import { klLogits, logSoftmax, meanOverPrompts, rowOf, topK } from "./numeric.ts";
import { finalSite, resolveLensSites } from "./sites.ts";
import type { LensEvalSpec } from "./spec.ts";
import { applyTranslator, type TunedLens } from "./translator.ts";

export interface LensLogits {
  readonly sites: readonly string[];
  /** [B, P, V] the model's own logits. */
  readonly final: HostTensor;
  /** [B, P, V] per site: W_U · LN_f(h_l) (logit lens) or W_U · LN_f(T_l(h_l)) (tuned lens). */
  readonly logit: readonly HostTensor[];
  readonly tuned: readonly HostTensor[] | null;
  readonly lengths: readonly number[];
}

/** The tuned lens' translator for each site; the final residual decodes as itself (identity). */
const translatorsFor = (tuned: TunedLens, sites: readonly string[], final: string, d: number) => {
  if (tuned.dModel !== d)
    throw new InputError({ field: "tuned.dModel", expected: `d_model = ${d}`, found: String(tuned.dModel) });
  return sites.map((s) => {
    const t = tuned.translators.find((x) => x.site === s);
    if (t === undefined && s !== final)
      throw new InputError({
        field: "tuned.translators",
        expected: `a translator for ${s}`,
        found: `translators for ${tuned.translators.map((x) => x.site).join(", ") || "no site"}`,
      });
    return t ?? null;
  });
};

/**
 * Logit (and, given translators, tuned) lens logits at each site, through the engine: one run
 * captures every site, then one decode run per site and lens replaces the final residual with the
 * (translated) site value, so the model's own ln_final and unembedding decode it.
 *
 * Returns `{ sites, final, logit, tuned, lengths }`: logits [B, P, V] per site.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSessionCache } from "@patchbay/core/runtime";
 * import { inductionModel, inductionTask } from "@patchbay/zoo";
 * import { Effect } from "effect";
 * import { lensLogits } from "@patchbay/readouts";
 * const model = inductionModel(); // the compiled 2-layer induction model
 * const prompts = inductionTask(0, 2, { blockLen: 4 }).clean;
 * const r = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.flatMap(makeSessionCache("doc", { threads: 1 }), (cache) =>
 *       lensLogits(cache, model, undefined, prompts),
 *     ),
 *   ),
 * );
 * assert.equal(r.logit.length, r.sites.length);
 * assert.equal(r.tuned, null); // no translators given
 * ```
 */
export const lensLogits = (
  cache: SessionCache,
  model: LensModel,
  sites: readonly string[] | undefined,
  prompts: readonly (readonly number[])[],
  tuned?: TunedLens,
): Effect.Effect<LensLogits, InputError | RuntimeError> =>
  Effect.gen(function* () {
    const c = model.config;
    const final = finalSite(c);
    const { names, ts } = yield* attempt(() => {
      const names = resolveLensSites(c, sites);
      return { names, ts: tuned === undefined ? null : translatorsFor(tuned, names, final, c.dModel) };
    }, InputError);
    const cap = yield* captureResidual(cache, model, names, prompts);
    const logit: HostTensor[] = [];
    const tunedOut: HostTensor[] = [];
    for (let i = 0; i < names.length; i++) {
      const h = cap.sites[i]!;
      logit.push(yield* decodeResidual(cache, model, h, prompts));
      if (ts !== null) {
        const t = ts[i];
        tunedOut.push(
          t === null || t === undefined
            ? logit[i]!
            : yield* decodeResidual(cache, model, applyTranslator(t, h), prompts),
        );
      }
    }
    return {
      sites: names,
      final: cap.final,
      logit,
      tuned: ts === null ? null : tunedOut,
      lengths: cap.lengths,
    };
  });

export interface TopToken {
  readonly id: number;
  /** The vocabulary's spelling of the token, when the model has a tokenizer. */
  readonly token: string | null;
  readonly prob: number;
}

export interface LensCell {
  readonly position: number;
  readonly top: readonly TopToken[];
  /** KL(p_final ‖ p_lens) at this position. */
  readonly kl: number;
}

export interface LensRow {
  readonly site: string;
  readonly lens: "logit" | "tuned";
  readonly cells: readonly LensCell[];
}

/** Plain data: per-site KL of each lens and a layer × position table of top tokens. */
export interface LensReport {
  readonly model: string;
  readonly sites: readonly string[];
  readonly prompts: number;
  /** Mean over prompts of the mean over positions of KL(p_final ‖ p_lens), per site. */
  readonly kl: { readonly logit: readonly number[]; readonly tuned: readonly number[] | null };
  readonly table: {
    readonly prompt: number;
    readonly tokens: readonly { readonly id: number; readonly token: string | null }[];
    /** The model's own top tokens per position (the reference row). */
    readonly final: readonly LensCell[];
    readonly rows: readonly LensRow[];
  };
}

/**
 * Evaluate the logit lens (and the tuned lens, given translators) on a dataset of prompts.
 *
 * Returns a LensReport `{ model, sites, prompts, kl: { logit, tuned }, table }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSessionCache } from "@patchbay/core/runtime";
 * import { inductionModel, inductionTask } from "@patchbay/zoo";
 * import { Effect } from "effect";
 * import { evaluateLens } from "@patchbay/readouts";
 * const model = inductionModel(); // the compiled 2-layer induction model
 * const prompts = inductionTask(0, 2, { blockLen: 4 }).clean;
 * const r = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.flatMap(makeSessionCache("doc", { threads: 1 }), (cache) =>
 *       evaluateLens(cache, model, { topK: 3, tablePrompt: 0 }, { prompts }),
 *     ),
 *   ),
 * );
 * assert.equal(r.kl.logit.length, r.sites.length);
 * assert.ok(Math.abs(r.kl.logit.at(-1)!) < 1e-4); // the final residual decodes to the model itself
 * ```
 */
export const evaluateLens = (
  cache: SessionCache,
  model: LensModel,
  spec: LensEvalSpec,
  data: { readonly prompts: readonly (readonly number[])[] },
  tuned?: TunedLens,
): Effect.Effect<LensReport, InputError | RuntimeError> =>
  Effect.gen(function* () {
    const prompts = data.prompts;
    if (spec.tablePrompt >= prompts.length)
      return yield* new InputError({
        field: "tablePrompt",
        expected: `a prompt index in [0, ${prompts.length})`,
        found: String(spec.tablePrompt),
      });
    const L = yield* lensLogits(cache, model, spec.sites, prompts, tuned);
    const V = model.config.vocabSize;
    const P = L.final.shape[1]!;
    const tok = model.tokenizer ?? null;
    const name = (id: number) => (tok === null ? null : tok.idToToken(id));
    const klAt = (lens: HostTensor) => (b: number, p: number) =>
      klLogits(rowOf(L.final.data, P, V, b, p), rowOf(lens.data, P, V, b, p));
    const meanKl = (lens: HostTensor): number => {
      const m = meanOverPrompts(L.lengths, klAt(lens));
      if (!Number.isFinite(m))
        throw new InputError({ field: "lens logits", expected: "a finite KL", found: String(m) });
      return m;
    };
    const kl = yield* attempt(
      () => ({ logit: L.logit.map(meanKl), tuned: L.tuned === null ? null : L.tuned.map(meanKl) }),
      InputError,
    );
    const b = spec.tablePrompt;
    const n = L.lengths[b]!;
    const cells = (lens: HostTensor): LensCell[] =>
      Array.from({ length: n }, (_, p) => {
        const row = rowOf(lens.data, P, V, b, p);
        const lp = logSoftmax(row);
        return {
          position: p,
          top: topK(row, spec.topK).map((id) => ({ id, token: name(id), prob: Math.exp(lp[id]!) })),
          kl: klAt(lens)(b, p),
        };
      });
    const rows: LensRow[] = [];
    L.sites.forEach((site, i) => {
      rows.push({ site, lens: "logit", cells: cells(L.logit[i]!) });
      if (L.tuned !== null) rows.push({ site, lens: "tuned", cells: cells(L.tuned[i]!) });
    });
    return {
      model: model.config.name,
      sites: L.sites,
      prompts: prompts.length,
      kl,
      table: {
        prompt: b,
        tokens: prompts[b]!.map((id) => ({ id, token: name(id) })),
        final: cells(L.final),
        rows,
      },
    };
  });
