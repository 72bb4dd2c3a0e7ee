import { adamInit, type AdamState, adamStep } from "@patchbay/core/optim";
import { attempt, InputError, type RuntimeError } from "@patchbay/core/errors";
import type { HostTensor } from "@patchbay/core/tensor";
import { mulberry32 } from "@patchbay/core/model";
import { type Plan, runPlan } from "@patchbay/core/engine";
import type { SessionCache } from "@patchbay/core/runtime";
import { Effect } from "effect";
import { type Captured, captureResidual, type LensModel } from "./decode.ts";
import { finalSite, resolveLensSites } from "./sites.ts";
import { type TunedLensTrainSpec, tunedLensProblem } from "./spec.ts";
import { applyTranslator, type Translator, type TunedLens, translatorGrads } from "./translator.ts";

export interface TunedLensCurvePoint {
  /** Step (0-based) whose minibatch loss this is, measured before its update. */
  readonly step: number;
  /** Mean KL(p_final ‖ p_tuned) on the minibatch, per trained site (in `sites` order). */
  readonly kl: readonly number[];
}

export interface TunedLensFit {
  readonly lens: TunedLens;
  /** The trained sites (the lens sites without the final residual, whose translator is the identity). */
  readonly sites: readonly string[];
  readonly curve: readonly TunedLensCurvePoint[];
}

/** Example b's first `len` rows of a padded [B, P, X] tensor, written as example `at` of a [·, Q, X] buffer. */
const sliceExample = (t: HostTensor, b: number, len: number, Q: number, out: Float32Array, at: number) => {
  const [, P, X] = t.shape as [number, number, number];
  out.set(t.data.subarray(b * P * X, (b * P + len) * X), at * Q * X);
};

/**
 * Train one translator per lens site (except the final residual) to minimise
 *   L_l = mean_prompts mean_positions KL(p_final ‖ softmax(W_U · LN_f(h_l + A_l h_l + b_l)))
 * with Adam, every layer in the same engine run: the batch stacks (site, prompt) pairs, the plan
 * replaces the final residual with T_l(h_l) and its metric is "kl" against the model's own final
 * logits. The engine returns ∂(batch-mean KL)/∂value; since the batch mean is (1/S) Σ_l L_l, each
 * layer's gradient is S times its block of it, chained to A_l and b_l in translatorGrads.
 * Deterministic: the minibatch order comes from mulberry32(seed), Adam is a pure function.
 *
 * Returns `{ lens, sites, curve, … }`: the translators and the KL per site along training.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSessionCache } from "@patchbay/core/runtime";
 * import { inductionModel, inductionTask } from "@patchbay/zoo";
 * import { Effect } from "effect";
 * import { trainTunedLens } from "@patchbay/readouts";
 * const model = inductionModel(); // the compiled 2-layer induction model
 * const prompts = inductionTask(0, 2, { blockLen: 4 }).clean;
 * const r = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.flatMap(makeSessionCache("doc", { threads: 1 }), (cache) =>
 *       trainTunedLens(cache, model, { steps: 5, lr: 1e-2, batchSize: 2, weightDecay: 0, seed: 0 }, { prompts }),
 *     ),
 *   ),
 * );
 * assert.equal(r.lens.translators.length, 2); // every lens site but the final residual
 * assert.ok(r.curve.length > 0);
 * ```
 */
export const trainTunedLens = (
  cache: SessionCache,
  model: LensModel,
  spec: TunedLensTrainSpec,
  data: { readonly prompts: readonly (readonly number[])[] },
): Effect.Effect<TunedLensFit, InputError | RuntimeError> =>
  Effect.gen(function* () {
    const c = model.config;
    const d = c.dModel;
    const final = finalSite(c);
    const refused = tunedLensProblem(spec);
    if (refused !== null) return yield* refused;
    const all = yield* attempt(() => resolveLensSites(c, spec.sites), InputError);
    const sites = all.filter((s) => s !== final);
    const prompts = data.prompts;
    if (prompts.length === 0)
      return yield* new InputError({ field: "data.prompts", expected: "at least one prompt", found: "[]" });
    const cap = yield* captureResidual(cache, model, sites, prompts);
    let params = new Map<string, HostTensor>();
    for (const s of sites) {
      params.set(`${s}.A`, { data: new Float32Array(d * d), shape: [d, d] });
      params.set(`${s}.b`, { data: new Float32Array(d), shape: [d] });
    }
    let state: AdamState = adamInit(params);
    const opts = {
      lr: spec.lr,
      weightDecay: spec.weightDecay,
      decay: (name: string) => name.endsWith(".A"),
    };
    const rng = mulberry32(spec.seed);
    const bs = Math.min(spec.batchSize, prompts.length);
    let order: number[] = [];
    const nextBatch = (): number[] => {
      const out: number[] = [];
      while (out.length < bs) {
        if (order.length === 0) {
          // Fisher–Yates shuffle of the prompt indices: one epoch.
          order = Array.from({ length: prompts.length }, (_, i) => i);
          for (let i = order.length - 1; i > 0; i--) {
            const j = Math.floor(rng() * (i + 1));
            [order[i], order[j]] = [order[j]!, order[i]!];
          }
        }
        out.push(order.pop()!);
      }
      return out;
    };
    const curve: TunedLensCurvePoint[] = [];
    const S = sites.length;
    if (S === 0) return { lens: { model: c.name, dModel: d, translators: [] }, sites, curve };
    for (let step = 0; step < spec.steps; step++) {
      const mb = nextBatch();
      const translators = sites.map((s) => translatorOf(params, s));
      const r = yield* klAndGrads(cache, model, cap, translators, mb, prompts);
      if (!r.kl.every(Number.isFinite))
        return yield* new InputError({
          field: "lr",
          expected: "a learning rate for which the tuned-lens KL stays finite",
          found: `KL ${r.kl.join(", ")} at step ${step} (lr ${spec.lr})`,
        });
      curve.push({ step, kl: r.kl });
      const grads = new Map<string, { data: Float32Array }>();
      r.grads.forEach((g, si) => {
        grads.set(`${sites[si]}.A`, { data: g.A });
        grads.set(`${sites[si]}.b`, { data: g.b });
      });
      const next = adamStep(params, grads, state, opts);
      params = next.weights;
      state = next.state;
    }
    return {
      lens: { model: c.name, dModel: d, translators: sites.map((s) => translatorOf(params, s)) },
      sites,
      curve,
    };
  });

const translatorOf = (params: ReadonlyMap<string, HostTensor>, site: string): Translator => ({
  site,
  A: params.get(`${site}.A`)!.data,
  b: params.get(`${site}.b`)!.data,
});

/** Replace the final residual with a value; metric KL to the reference logits; ∂metric/∂value. */
const klPlan = (final: string): Plan => ({
  captures: [],
  interventions: [{ _tag: "replace", target: { site: final } }],
  metric: { kind: "kl" },
  gradients: [{ _tag: "param", index: 0, param: "value" }],
  logits: false,
});

/**
 * One engine run for every translator at once on the prompts `mb` (indices into `prompts`, whose
 * sites were captured in `cap`, in the translators' order): per translator l, the minibatch loss
 * L_l = mean_b mean_p KL(p_final ‖ p_tuned) and ∂L_l/∂A_l, ∂L_l/∂b_l.
 */
const klAndGrads = (
  cache: SessionCache,
  model: LensModel,
  cap: Captured,
  translators: readonly Translator[],
  mb: readonly number[],
  prompts: readonly (readonly number[])[],
): Effect.Effect<
  { readonly kl: number[]; readonly grads: { A: Float32Array; b: Float32Array }[] },
  InputError | RuntimeError
> =>
  Effect.gen(function* () {
    const c = model.config;
    const d = c.dModel;
    const V = c.vocabSize;
    const S = translators.length;
    const bs = mb.length;
    const lens = mb.map((b) => prompts[b]!.length);
    const Q = Math.max(...lens); // padded length of this minibatch
    const seqs: (readonly number[])[] = [];
    const value = new Float32Array(S * bs * Q * d); // [S·bs, Q, d] T_l(h_l), the patched residual
    const hs = new Float32Array(S * bs * Q * d); //    [S·bs, Q, d] h_l
    const reference = new Float32Array(S * bs * Q * V); // [S·bs, Q, V] final logits
    const positions: number[][] = [];
    translators.forEach((t, si) => {
      mb.forEach((b, k) => {
        const e = si * bs + k;
        seqs.push(prompts[b]!);
        sliceExample(cap.sites[si]!, b, lens[k]!, Q, hs, e);
        sliceExample(cap.final, b, lens[k]!, Q, reference, e);
        positions.push(Array.from({ length: lens[k]! }, (_, p) => p));
      });
      const block = { data: hs.subarray(si * bs * Q * d, (si + 1) * bs * Q * d), shape: [bs * Q, d] };
      value.set(applyTranslator(t, block).data, si * bs * Q * d);
    });
    const r = yield* runPlan(cache, model, klPlan(finalSite(c)), seqs, {
      interventions: [{ value: { data: value, shape: [S * bs, Q, d] } }],
      metric: { positions, answers: [], reference: { data: reference, shape: [S * bs, Q, V] } },
    });
    const per = r.metric!.perExample;
    const kl = translators.map((_, si) => {
      let m = 0;
      for (let k = 0; k < bs; k++) m += per[si * bs + k]!;
      return m / bs;
    });
    const g = r.grads.get("param:0.value")!.data; // [S·bs, Q, d] ∂(batch mean)/∂value
    const grads = translators.map((_, si) => {
      const lo = si * bs * Q * d;
      const hi = (si + 1) * bs * Q * d;
      // batch mean = (1/S) Σ_l L_l, so ∂L_l/∂value = S · (its block of g); padding rows carry no loss
      return translatorGrads(
        g.subarray(lo, hi),
        hs.subarray(lo, hi),
        d,
        (row) => row % Q < lens[Math.floor(row / Q)]!,
        S,
      );
    });
    return { kl, grads };
  });

/**
 * The tuned-lens loss and its gradient for given translators over a whole dataset (one batch):
 * per translator, L_l = mean_prompts mean_positions KL(p_final ‖ p_tuned), ∂L_l/∂A_l, ∂L_l/∂b_l.
 *
 * Returns `{ sites, kl, grads }`: per translator, the loss and `{ A, b }` gradients.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSessionCache } from "@patchbay/core/runtime";
 * import { inductionModel, inductionTask } from "@patchbay/zoo";
 * import { Effect } from "effect";
 * import { identityTranslator, tunedLensGradient } from "@patchbay/readouts";
 * const model = inductionModel(); // the compiled 2-layer induction model
 * const prompts = inductionTask(0, 2, { blockLen: 4 }).clean;
 * const lens = { model: "induction", dModel: model.config.dModel, translators: [identityTranslator("blocks.0.resid_post", model.config.dModel)] };
 * const r = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.flatMap(makeSessionCache("doc", { threads: 1 }), (cache) =>
 *       tunedLensGradient(cache, model, lens, { prompts }),
 *     ),
 *   ),
 * );
 * assert.deepEqual(r.sites, ["blocks.0.resid_post"]);
 * assert.ok(r.kl[0]! >= 0);
 * ```
 */
export const tunedLensGradient = (
  cache: SessionCache,
  model: LensModel,
  lens: TunedLens,
  data: { readonly prompts: readonly (readonly number[])[] },
): Effect.Effect<
  {
    readonly sites: readonly string[];
    readonly kl: readonly number[];
    readonly grads: readonly { readonly A: Float32Array; readonly b: Float32Array }[];
  },
  InputError | RuntimeError
> =>
  Effect.gen(function* () {
    const sites = yield* attempt(
      () =>
        resolveLensSites(
          model.config,
          lens.translators.map((t) => t.site),
          "lens.translators",
        ),
      InputError,
    );
    const cap = yield* captureResidual(cache, model, sites, data.prompts);
    const r = yield* klAndGrads(
      cache,
      model,
      cap,
      lens.translators.map((t, i) => ({ ...t, site: sites[i]! })),
      data.prompts.map((_, i) => i),
      data.prompts,
    );
    return { sites, ...r };
  });
