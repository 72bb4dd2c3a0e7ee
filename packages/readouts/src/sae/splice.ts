import { attempt, InputError, type RuntimeError } from "@patchbay/core/errors";
import type { HostTensor } from "@patchbay/core/tensor";
import { type MetricBinding, plan, type Positions, runPlan } from "@patchbay/core/engine";
import type { Model } from "@patchbay/core/model";
import type { SessionCache } from "@patchbay/core/runtime";
import { Effect } from "effect";
import { positionsFor, saeSite } from "./capture.ts";
import { decodeInto, encodeInto, type Sae } from "./sae.ts";

/**
 * Splicing an SAE into the model: the site's value x at the chosen positions is replaced by the
 * reconstruction x̂ = SAE(x), and everything downstream runs on x̂.
 *
 * It is a two-pass splice through the engine: pass 1 captures x (clean run), the host computes
 * x̂(x), pass 2 replaces the site with x̂ (a `replace` intervention: x′ = x + M ⊙ (x̂ − x)). This is
 * exactly the one-pass splice: x̂ depends only on x at this site, and x at this site is upstream
 * of the replacement, so pass 2 sees the same x as pass 1 and no downstream value is approximated.
 */

/**
 * x [b, P, …rest] with the rows at positions[b] replaced by the SAE's reconstruction (float32).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tensor } from "@patchbay/core/tensor";
 * import { makeSae, splicedValue } from "@patchbay/readouts";
 * // an SAE whose reconstruction is always 0 (all features dead, b_dec = 0)
 * const sae = makeSae({ arch: "standard", site: "x", d: 2, m: 1, encoder: [0, 0], bEnc: [-1], decoder: [1, 0], bDec: [0, 0] });
 * const x = tensor(Float32Array.of(1, 2, 3, 4), [1, 2, 2]); // [b, P, d]
 * assert.deepEqual([...splicedValue(sae, x, [[1]]).data], [1, 2, 0, 0]); // position 1 replaced
 * ```
 */
export const splicedValue = (
  sae: Sae,
  x: HostTensor,
  positions: readonly (readonly number[])[],
): HostTensor => {
  const [B, P] = x.shape as [number, number];
  const d = sae.d;
  if (x.data.length !== B * P * d)
    throw new InputError({
      field: `site ${sae.site}`,
      expected: `[${B}, ${P}, …] with ${d} values per token (the SAE's d)`,
      found: `[${x.shape.join(", ")}]`,
    });
  const out = x.data.slice();
  const f = new Float64Array(sae.m);
  const xh = new Float64Array(d);
  for (let b = 0; b < B; b++)
    for (const p of positions[b] ?? []) {
      const off = (b * P + p) * d;
      encodeInto(sae, x.data, off, f);
      decodeInto(sae, f, xh);
      for (let j = 0; j < d; j++) out[off + j] = xh[j]!;
    }
  return { data: out, shape: [...x.shape] };
};

/**
 * Next-token CE slots of a batch: positions 0..len−2 predict tokens 1..len−1.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nextTokenBinding } from "@patchbay/readouts";
 *
 * const b = nextTokenBinding([[7, 8, 9]]);
 * assert.deepEqual(b.positions, [[0, 1]]);
 * assert.deepEqual(b.answers, [[8, 9]]);
 * ```
 */
export const nextTokenBinding = (seqs: readonly (readonly number[])[], offset = 0): MetricBinding => {
  seqs.forEach((s, b) => {
    if (s.length < 2)
      throw new InputError({
        field: `prompts[${offset + b}]`,
        expected: "at least 2 tokens (one next-token prediction)",
        found: `${s.length}`,
      });
  });
  return {
    positions: seqs.map((s) => Array.from({ length: s.length - 1 }, (_, i) => i)),
    answers: seqs.map((s) => s.slice(1)),
  };
};

export interface SpliceResult {
  readonly site: string;
  readonly prompts: number;
  /** Next-token predictions the CE averages over: Σ_b (len_b − 1). */
  readonly predictions: number;
  /** Token-weighted mean next-token CE (nats): clean, SAE spliced, site zero-ablated. */
  readonly ceClean: number;
  readonly ceSae: number;
  readonly ceZero: number;
  /** (CE_zero − CE_sae) / (CE_zero − CE_clean); null when zero ablation does not change CE. */
  readonly ceLossRecovered: number | null;
  /** CE_sae − CE_clean. */
  readonly ceIncrease: number;
  readonly twoPass: true;
}

/**
 * CE clean vs spliced vs zero-ablated over prompts, in chunks. Zero ablation is the engine's
 * `scale` with s = 0 at the same site and positions (x′ = 0 there). Each prompt's CE is the mean
 * over its len − 1 predictions; the reported CE weights prompts by len − 1 (a mean over tokens).
 *
 * Returns `{ site, prompts, predictions, ceClean, ceSae, ceZero, … }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSessionCache } from "@patchbay/core/runtime";
 * import { inductionModel, inductionTask } from "@patchbay/zoo";
 * import { Effect, Schema } from "effect";
 * import { captureActivations, SaeTrainSpec, spliceSae, trainSae } from "@patchbay/readouts";
 * const model = inductionModel();
 * const task = inductionTask(0, 4, { blockLen: 4 });
 * const site = "blocks.1.resid_pre";
 * const spec = Schema.decodeUnknownSync(SaeTrainSpec)({ dictSize: 8, steps: 20, batchSize: 16 });
 * const r = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.flatMap(makeSessionCache("doc", { threads: 1 }), (cache) =>
 *       Effect.gen(function* () {
 *         const acts = yield* captureActivations(cache, model, site, "all", task.clean);
 *         const sae = trainSae(site, acts.data, acts.n, acts.d, spec).sae;
 *         return yield* spliceSae(cache, model, sae, "all", task.clean);
 *       }),
 *     ),
 *   ),
 * );
 * assert.ok(r.ceClean < r.ceZero); // zeroing the residual stream hurts
 * ```
 */
export const spliceSae = (
  cache: SessionCache,
  model: Model,
  sae: Sae,
  positions: Positions,
  prompts: readonly (readonly number[])[],
  chunkSize = 16,
): Effect.Effect<SpliceResult, InputError | RuntimeError> =>
  Effect.gen(function* () {
    const { name, d } = yield* attempt(() => saeSite(model.config, sae.site, "sae.site"), InputError);
    if (d !== sae.d)
      return yield* new InputError({
        field: "sae.d",
        expected: `${d}, the size of ${name} in ${model.config.name}`,
        found: String(sae.d),
      });
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
    const metric = { kind: "cross-entropy" as const };
    const clean = plan({ captures: [name], metric, logits: false });
    let sums = { clean: 0, sae: 0, zero: 0 };
    let weight = 0;
    for (let start = 0; start < prompts.length; start += chunkSize) {
      const chunk = prompts.slice(start, start + chunkSize);
      const cpos = pos.slice(start, start + chunk.length);
      const binding = yield* attempt(() => nextTokenBinding(chunk, start), InputError);
      const target = { site: name, positions: cpos };
      const c = yield* runPlan(cache, model, clean, chunk, { metric: binding });
      const xhat = yield* attempt(() => splicedValue(sae, c.sites.get(name)!, cpos), InputError);
      const s = yield* runPlan(
        cache,
        model,
        plan({ interventions: [{ _tag: "replace", target }], metric, logits: false }),
        chunk,
        { metric: binding, interventions: [{ value: xhat }] },
      );
      const z = yield* runPlan(
        cache,
        model,
        plan({ interventions: [{ _tag: "scale", target }], metric, logits: false }),
        chunk,
        { metric: binding, interventions: [{ factor: 0 }] },
      );
      chunk.forEach((seq, b) => {
        const w = seq.length - 1;
        weight += w;
        sums = {
          clean: sums.clean + w * c.metric!.perExample[b]!,
          sae: sums.sae + w * s.metric!.perExample[b]!,
          zero: sums.zero + w * z.metric!.perExample[b]!,
        };
      });
    }
    const ceClean = sums.clean / weight;
    const ceSae = sums.sae / weight;
    const ceZero = sums.zero / weight;
    for (const [k, v] of Object.entries({ ceClean, ceSae, ceZero }))
      if (!Number.isFinite(v))
        return yield* new InputError({ field: k, expected: "a finite cross-entropy", found: String(v) });
    return {
      site: name,
      prompts: prompts.length,
      predictions: weight,
      ceClean,
      ceSae,
      ceZero,
      ceLossRecovered: ceLossRecovered(ceClean, ceSae, ceZero),
      ceIncrease: ceSae - ceClean,
      twoPass: true as const,
    };
  });

/**
 * (CE_zero − CE_sae) / (CE_zero − CE_clean): 1 = the SAE loses nothing, 0 = as bad as zeroing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ceLossRecovered } from "@patchbay/readouts";
 *
 * assert.equal(ceLossRecovered(2, 2, 6), 1); // the SAE loses nothing
 * assert.equal(ceLossRecovered(2, 4, 6), 0.5);
 * ```
 */
export const ceLossRecovered = (clean: number, sae: number, zero: number): number | null =>
  zero !== clean ? (zero - sae) / (zero - clean) : null;
