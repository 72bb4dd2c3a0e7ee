import { Effect } from "effect";
import type { EdgeLayout } from "../edges/layout.ts";
import { runPlan } from "../engine/run.ts";
import { plan } from "../engine/spec.ts";
import { InputError, type RuntimeError } from "../errors/index.ts";
import type { Model, ModelConfig } from "../model/index.ts";
import { lookupSite, siteShape } from "../model/sites.ts";
import type { SessionCache } from "../runtime/index.ts";
import { type HostTensor, numel } from "../tensor/index.ts";
import { ablatedIn, type EdgeAblation, type EdgeAblationData } from "./sources.ts";

/**
 * z′ in compact form, for the fused attribution graph: a head's output is z_h·W_O[h] and linear in
 * its z, so a layer's heads are carried as attn.z [N, P, H, d_head] (H·d_head numbers a position
 * instead of H·d_model), and the graph multiplies by W_O itself. Every ablation stays exact in z:
 * zero (z′ = 0 ⇒ result′ = 0), mean (mean(z)·W_O = mean(z·W_O)), resample. Post-norm models
 * (Gemma 2) are the exception: a head's result is z_h·W_O[h] / σ ⊙ w_post with σ its run's own
 * post-norm scale, not linear in z, so their heads are carried as attn.result [N, P, H, d_model].
 *   input      blocks.0.resid_pre  [N, P, d]
 *   attn[l]    blocks.l.attn.z     [N, P, H, d_head]   (layer granularity: attn_out [N, P, d];
 *                                                      post-norms: attn.result [N, P, H, d])
 *   mlp[l]     blocks.l.mlp_out    [N, P, d]           (null without an MLP)
 */
export interface CompactSources {
  readonly input: HostTensor;
  readonly attn: readonly HostTensor[];
  readonly mlp: readonly (HostTensor | null)[];
}

/**
 * The sites of the compact form of z (one per part: the input, each layer's attention, each MLP).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Edges, Patching, Weights } from "@patchbay/core";
 * import "@patchbay/zoo";
 * import { Effect } from "effect";
 *
 * const model = await Effect.runPromise(Weights.loadModel("builtin:induction"));
 * const sites = Patching.compactSites(model.config, Edges.edgeLayout(model.config));
 * assert.deepEqual(sites.attn, ["blocks.0.attn.z", "blocks.1.attn.z"]);
 * assert.deepEqual(sites.mlp, [null, null]); // no MLPs in this model
 * ```
 */
export const compactSites = (
  c: ModelConfig,
  layout: EdgeLayout,
): { input: string; attn: string[]; mlp: (string | null)[] } => ({
  input: "blocks.0.resid_pre",
  attn: Array.from({ length: c.nLayers }, (_, l) =>
    layout.granularity === "layer"
      ? `blocks.${l}.attn_out`
      : c.postNorms === true
        ? `blocks.${l}.attn.result`
        : `blocks.${l}.attn.z`,
  ),
  mlp: Array.from({ length: c.nLayers }, (_, l) => (c.dMlp !== null ? `blocks.${l}.mlp_out` : null)),
});

const allSites = (c: ModelConfig, layout: EdgeLayout): string[] => {
  const s = compactSites(c, layout);
  return [s.input, ...s.attn, ...s.mlp.filter((x): x is string => x !== null)];
};

const fromSites = (c: ModelConfig, layout: EdgeLayout, get: (site: string) => HostTensor): CompactSources => {
  const s = compactSites(c, layout);
  return { input: get(s.input), attn: s.attn.map(get), mlp: s.mlp.map((m) => (m === null ? null : get(m))) };
};

/** z for a batch in compact form, from one fused forward (captures only: no unembedding). */
export const compactOutputs = (
  cache: SessionCache,
  model: Model,
  layout: EdgeLayout,
  seqs: readonly (readonly number[])[],
): Effect.Effect<CompactSources, InputError | RuntimeError> => {
  const captures = allSites(model.config, layout);
  return Effect.map(runPlan(cache, model, plan({ captures, logits: false }), seqs), (out) =>
    fromSites(model.config, layout, (site) => out.sites.get(site)!),
  );
};

/**
 * Rows `rowsOf[r]` of a compact z′ (each tensor's first axis is the example).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tileCompact } from "@patchbay/core/patching";
 *
 * const t = (values: number[]) => ({ data: new Float32Array(values), shape: [values.length, 1] });
 * const z = { input: t([1, 2]), attn: [t([3, 4])], mlp: [null] };
 * assert.deepEqual([...tileCompact(z, [1, 1, 0]).attn[0]!.data], [4, 4, 3]);
 * ```
 */
export const tileCompact = (z: CompactSources, rowsOf: readonly number[]): CompactSources => {
  const tile = (t: HostTensor): HostTensor => {
    const per = numel(t.shape.slice(1));
    const out = new Float32Array(rowsOf.length * per);
    rowsOf.forEach((b, r) => {
      out.set(t.data.subarray(b * per, (b + 1) * per), r * per);
    });
    return { data: out, shape: [rowsOf.length, ...t.shape.slice(1)] };
  };
  return {
    input: tile(z.input),
    attn: z.attn.map(tile),
    mlp: z.mlp.map((m) => (m === null ? null : tile(m))),
  };
};

/**
 * a − b part by part (e.g. z(e_k) − (z(x) − z(x′)) for EAP-IG).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mapCompact } from "@patchbay/core/patching";
 *
 * const t = (values: number[]) => ({ data: new Float32Array(values), shape: [values.length, 1] });
 * const a = { input: t([5, 5]), attn: [t([3, 4])], mlp: [null] };
 * const b = { input: t([1, 2]), attn: [t([1, 1])], mlp: [null] };
 * const diff = mapCompact([a, b], ([x, y]) => x! - y!);
 * assert.deepEqual([...diff.input.data], [4, 3]);
 * ```
 */
export const mapCompact = (
  parts: readonly CompactSources[],
  f: (values: readonly number[]) => number,
): CompactSources => {
  const zip = (ts: readonly HostTensor[]): HostTensor => {
    const out = new Float32Array(ts[0]!.data.length);
    const vals = new Array<number>(ts.length);
    for (let i = 0; i < out.length; i++) {
      for (let k = 0; k < ts.length; k++) vals[k] = ts[k]!.data[i]!;
      out[i] = f(vals);
    }
    return { data: out, shape: [...ts[0]!.shape] };
  };
  const [first] = parts;
  return {
    input: zip(parts.map((p) => p.input)),
    attn: first!.attn.map((_, l) => zip(parts.map((p) => p.attn[l]!))),
    mlp: first!.mlp.map((m, l) => (m === null ? null : zip(parts.map((p) => p.mlp[l]!)))),
  };
};

/**
 * Compact z′ for a batch of clean sequences under an ablation (see ablatedSources for the rules).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Edges, Patching, Runtime } from "@patchbay/core";
 * import "@patchbay/zoo";
 * import { Effect } from "effect";
 *
 * const z = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.gen(function* () {
 *       const model = yield* Runtime.openModel("builtin:induction");
 *       const layout = Edges.edgeLayout(model.config);
 *       return yield* Patching.compactAblated(model.sessions, model, layout, "mean", [[0, 1, 2]], {
 *         reference: [[0, 3, 4], [0, 5, 6]],
 *       });
 *     }),
 *   ),
 * );
 * assert.deepEqual(z.attn[1]?.shape, [1, 3, 4, 32]); // blocks.1.attn.z: [batch, pos, head, d_head]
 * ```
 */
export const compactAblated = (
  cache: SessionCache,
  model: Model,
  layout: EdgeLayout,
  ablation: EdgeAblation,
  clean: readonly (readonly number[])[],
  data: EdgeAblationData = {},
): Effect.Effect<CompactSources, InputError | RuntimeError> => {
  const c = model.config;
  const shapeOf = (site: string, N: number, P: number) => {
    const r = lookupSite(c, site);
    if (!r.ok) throw new InputError({ field: "site", expected: "a site", found: site });
    return siteShape(r.site, c, N, P);
  };
  return ablatedIn(
    cache,
    model,
    {
      sites: allSites(c, layout),
      zero: (N, P) =>
        fromSites(c, layout, (site) => {
          const shape = shapeOf(site, N, P);
          return { data: new Float32Array(numel(shape)), shape };
        }),
      outputs: (seqs) => compactOutputs(cache, model, layout, seqs),
      means: (means, perPosition, N, P) =>
        fromSites(c, layout, (site) => {
          const m = means.get(site)!;
          const shape = shapeOf(site, N, P);
          const per = numel(shape.slice(2));
          const out = new Float32Array(numel(shape));
          for (let b = 0; b < N; b++)
            for (let p = 0; p < P; p++)
              out.set(
                m.data.subarray(perPosition ? p * per : 0, (perPosition ? p * per : 0) + per),
                (b * P + p) * per,
              );
          return { data: out, shape };
        }),
    },
    ablation,
    clean,
    data,
  );
};
