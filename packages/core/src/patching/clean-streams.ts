import { Effect } from "effect";
import { sourceSite } from "../edges/hooks.ts";
import type { EdgeLayout } from "../edges/layout.ts";
import { runPlan } from "../engine/run.ts";
import { plan } from "../engine/spec.ts";
import type { InputError, RuntimeError } from "../errors/index.ts";
import type { Model } from "../model/index.ts";
import type { SessionCache } from "../runtime/index.ts";
import type { HostTensor } from "../tensor/index.ts";
import { sourceSites } from "./sources.ts";

/**
 * What a downstream-only row starts from, from one clean forward: the residual stream entering
 * each start layer ℓ (resid_pre; ℓ = nLayers: the last resid_post, where only the head runs) and
 * every source's Δ_u = z_u(clean) − z′_u [N, P, S, d].
 */
export interface CleanStreams {
  /** start layer → the stream it starts from [N, P, d] */
  readonly resid: ReadonlyMap<number, HostTensor>;
  /** Δ [N, P, S, d] */
  readonly delta: Float32Array;
}

/** The site a row starting at layer ℓ reads its stream from (ℓ = nLayers: the last resid_post). */
export const startSite = (nLayers: number, layer: number): string =>
  layer < nLayers ? `blocks.${layer}.resid_pre` : `blocks.${nLayers - 1}.resid_post`;

/**
 * One clean forward capturing the streams entering `layers` (ℓ = nLayers: the last resid_post)
 * and every source's output; Δ against `ablated` z′ [N, P, S, d] (ablatedSources).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Edges, Patching, Runtime } from "@patchbay/core";
 * import { inductionTask } from "@patchbay/zoo";
 * import { Effect } from "effect";
 *
 * const task = inductionTask(0, 2);
 * const clean = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.gen(function* () {
 *       const model = yield* Runtime.openModel("builtin:induction");
 *       const layout = Edges.edgeLayout(model.config);
 *       const zPrime = yield* Patching.ablatedSources(model.sessions, model, layout, "resample", task.clean, {
 *         corrupted: task.corrupted,
 *       });
 *       return yield* Patching.cleanStreams(model.sessions, model, layout, task.clean, zPrime, [0, 1, 2]);
 *     }),
 *   ),
 * );
 * assert.deepEqual([...clean.resid.keys()], [0, 1, 2]); // resid_pre of layers 0 and 1, the last resid_post
 * const [N, P, d] = clean.resid.get(0)!.shape as [number, number, number];
 * assert.equal(clean.delta.length, N * P * 9 * d); // Δ [N, P, S, d]: the input and 8 heads
 * ```
 */
export const cleanStreams = (
  cache: SessionCache,
  model: Model,
  layout: EdgeLayout,
  seqs: readonly (readonly number[])[],
  ablated: HostTensor,
  layers: readonly number[],
): Effect.Effect<CleanStreams, InputError | RuntimeError> =>
  Effect.gen(function* () {
    const L = model.config.nLayers;
    const d = model.config.dModel;
    const N = seqs.length;
    const P = ablated.shape[1]!;
    const S = layout.sources.length;
    const captures = [...new Set([...layers.map((l) => startSite(L, l)), ...sourceSites(layout)])];
    const run = yield* runPlan(cache, model, plan({ captures, logits: false }), seqs);
    const delta = new Float32Array(ablated.data.length);
    layout.sources.forEach((_, s) => {
      const { site, head } = sourceSite(layout, s);
      const z = run.sites.get(site)!;
      const H = head === null ? 1 : z.shape[2]!;
      for (let i = 0; i < N * P; i++) {
        const from = (i * H + (head ?? 0)) * d;
        const to = (i * S + s) * d;
        for (let k = 0; k < d; k++) delta[to + k] = z.data[from + k]! - ablated.data[to + k]!;
      }
    });
    return { resid: new Map(layers.map((l) => [l, run.sites.get(startSite(L, l))!])), delta };
  });
