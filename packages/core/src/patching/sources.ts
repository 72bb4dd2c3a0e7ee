import { Effect, Schema } from "effect";
import { InputError, type RuntimeError } from "../errors/index.ts";
import { EDGE_ABLATIONS } from "./ablation-kinds.ts";
import { siteMeans } from "../engine/dataset.ts";
import { sourceSite } from "../edges/hooks.ts";
import type { EdgeLayout } from "../edges/layout.ts";
import type { Model, ModelConfig } from "../model/index.ts";
import { forward, type SessionCache } from "../runtime/index.ts";
import type { HostTensor } from "../tensor/index.ts";

/**
 * z′, the source outputs an ablated edge carries instead of the current ones (docs/methods.md#edge-patching):
 *   resample         z′ = z(x′), the paired corrupted example (same length as its clean one)
 *   zero             z′ = 0
 *   mean             z′ = mean of z over a reference dataset, pooled over positions
 *   mean-positional  the same mean kept per position
 * All come out as one tensor [batch, pos, S, d_model], the `edges.ablated` input.
 */
export const EdgeAblation = Schema.Literal(...EDGE_ABLATIONS);
export type EdgeAblation = typeof EdgeAblation.Type;

export interface EdgeAblationData {
  /** resample: corrupted sequences paired with the clean ones by index. */
  readonly corrupted?: readonly (readonly number[])[];
  /** mean, mean-positional: the reference dataset. */
  readonly reference?: readonly (readonly number[])[];
  readonly chunkSize?: number;
}

/** The distinct sites holding the sources' outputs, in source order. */
export const sourceSites = (layout: EdgeLayout): string[] => [
  ...new Set(layout.sources.map((_, s) => sourceSite(layout, s).site)),
];

/**
 * Gather source outputs into [B, P, S, d]: `row(site, b, p)` gives the site's values at (b, p) as
 * [rest] (d, or H·d for per-head results), or null for zeros.
 */
const assemble = (
  c: ModelConfig,
  layout: EdgeLayout,
  B: number,
  P: number,
  row: (site: string, b: number, p: number) => Float32Array | null,
): HostTensor => {
  const S = layout.sources.length;
  const d = c.dModel;
  const out = new Float32Array(B * P * S * d);
  const where = layout.sources.map((_, s) => sourceSite(layout, s));
  for (let b = 0; b < B; b++)
    for (let p = 0; p < P; p++)
      where.forEach(({ site, head }, s) => {
        const r = row(site, b, p);
        if (r === null) return;
        const off = head === null ? 0 : head * d;
        out.set(r.subarray(off, off + d), ((b * P + p) * S + s) * d);
      });
  return { data: out, shape: [B, P, S, d] };
};

/** z for every source on a batch: [batch, pos, S, d_model] (padding positions hold the padded run's values). */
export const sourceOutputs = (
  cache: SessionCache,
  model: Model,
  layout: EdgeLayout,
  seqs: readonly (readonly number[])[],
): Effect.Effect<HostTensor, InputError | RuntimeError> =>
  Effect.gen(function* () {
    const sites = sourceSites(layout);
    const out = yield* forward(cache, model, seqs, sites);
    const [B, P] = out.sites.get(sites[0]!)!.shape as [number, number];
    return assemble(model.config, layout, B, P, (site, b, p) => {
      const x = out.sites.get(site)!;
      const r = x.data.length / (B * P);
      return x.data.subarray((b * P + p) * r, (b * P + p + 1) * r);
    });
  });

/**
 * The data an ablation needs, checked once for both z′ forms (full and compact): resample takes one
 * corrupted sequence per clean one of the same length (edges are patched position by position);
 * the means take a non-empty reference dataset, covering every clean position when per position.
 */
export const checkedCorrupted = (
  clean: readonly (readonly number[])[],
  data: EdgeAblationData,
): Effect.Effect<readonly (readonly number[])[], InputError> =>
  Effect.gen(function* () {
    const corrupted = data.corrupted;
    if (corrupted === undefined)
      return yield* new InputError({
        field: "corrupted",
        expected: "corrupted sequences for resample ablation",
        found: "nothing",
      });
    if (corrupted.length !== clean.length)
      return yield* new InputError({
        field: "corrupted",
        expected: `one corrupted sequence per clean sequence (${clean.length})`,
        found: `${corrupted.length}`,
      });
    for (let b = 0; b < clean.length; b++)
      if (corrupted[b]!.length !== clean[b]!.length)
        return yield* new InputError({
          field: `corrupted[${b}]`,
          expected: `the clean example's length ${clean[b]!.length} (edges are patched position by position)`,
          found: `${corrupted[b]!.length} tokens`,
        });
    return corrupted;
  });

export const checkedReference = (
  ablation: "mean" | "mean-positional",
  P: number,
  data: EdgeAblationData,
): Effect.Effect<readonly (readonly number[])[], InputError> =>
  Effect.gen(function* () {
    const reference = data.reference;
    if (reference === undefined || reference.length === 0)
      return yield* new InputError({
        field: "reference",
        expected: `a reference dataset for ${ablation} ablation`,
        found: "nothing",
      });
    const maxRef = Math.max(...reference.map((s) => s.length));
    if (ablation === "mean-positional" && maxRef < P)
      return yield* new InputError({
        field: "reference",
        expected: `sequences covering every clean position (${P})`,
        found: `at most ${maxRef} tokens`,
      });
    return reference;
  });

/**
 * A form of z′ (the full [batch, pos, S, d_model] tensor here, the compact per-site form in
 * ./compact.ts): the sites z is read from, and how each ablation's values become that form.
 */
export interface ZForm<Z> {
  /** The sites whose dataset means the mean ablations take. */
  readonly sites: readonly string[];
  /** z′ = 0 for B sequences of P positions. */
  readonly zero: (B: number, P: number) => Z;
  /** z on a batch (resample: z′ = z(x′)). */
  readonly outputs: (seqs: readonly (readonly number[])[]) => Effect.Effect<Z, InputError | RuntimeError>;
  /** z′ = the means by site (per position: [pos, ...] each), broadcast to B sequences of P positions. */
  readonly means: (means: ReadonlyMap<string, HostTensor>, perPosition: boolean, B: number, P: number) => Z;
}

/** The one switch over ablations, for either form of z′ (docs/methods.md#edge-patching). */
export const ablatedIn = <Z>(
  cache: SessionCache,
  model: Model,
  form: ZForm<Z>,
  ablation: EdgeAblation,
  clean: readonly (readonly number[])[],
  data: EdgeAblationData,
): Effect.Effect<Z, InputError | RuntimeError> =>
  Effect.gen(function* () {
    const B = clean.length;
    const P = Math.max(...clean.map((s) => s.length));
    switch (ablation) {
      case "zero":
        return form.zero(B, P);
      case "resample": {
        const corrupted = yield* checkedCorrupted(clean, data);
        return yield* form.outputs(corrupted);
      }
      case "mean":
      case "mean-positional": {
        const reference = yield* checkedReference(ablation, P, data);
        const perPosition = ablation === "mean-positional";
        const means = yield* siteMeans(cache, model, form.sites, reference, {
          perPosition,
          ...(data.chunkSize !== undefined ? { chunkSize: data.chunkSize } : {}),
        });
        return form.means(means, perPosition, B, P);
      }
    }
  });

/**
 * z′ for a batch of clean sequences under an ablation: [batch, pos, S, d_model].
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Edges, Patching, Runtime } from "@patchbay/core";
 * import { inductionTask } from "@patchbay/zoo";
 * import { Effect } from "effect";
 *
 * const task = inductionTask(0, 2);
 * const z = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.gen(function* () {
 *       const model = yield* Runtime.openModel("builtin:induction");
 *       const layout = Edges.edgeLayout(model.config);
 *       return yield* Patching.ablatedSources(model.sessions, model, layout, "resample", task.clean, {
 *         corrupted: task.corrupted,
 *       });
 *     }),
 *   ),
 * );
 * assert.deepEqual(z.shape, [2, task.clean[0]!.length, 9, 136]); // [batch, pos, sources, d_model]
 * ```
 */
export const ablatedSources = (
  cache: SessionCache,
  model: Model,
  layout: EdgeLayout,
  ablation: EdgeAblation,
  clean: readonly (readonly number[])[],
  data: EdgeAblationData = {},
): Effect.Effect<HostTensor, InputError | RuntimeError> => {
  const c = model.config;
  return ablatedIn(
    cache,
    model,
    {
      sites: sourceSites(layout),
      zero: (B, P) => assemble(c, layout, B, P, () => null),
      outputs: (seqs) => sourceOutputs(cache, model, layout, seqs),
      means: (means, perPosition, B, P) =>
        assemble(c, layout, B, P, (site, _b, p) => {
          const m = means.get(site)!;
          if (!perPosition) return m.data;
          const r = m.data.length / m.shape[0]!;
          return m.data.subarray(p * r, (p + 1) * r);
        }),
    },
    ablation,
    clean,
    data,
  );
};

/**
 * A mask [batch, S, D] filled with one value (1 = the clean run, 0 = the fully ablated run).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Edges, Patching, Weights } from "@patchbay/core";
 * import "@patchbay/zoo";
 * import { Effect } from "effect";
 *
 * const model = await Effect.runPromise(Weights.loadModel("builtin:induction"));
 * const clean = Patching.fullMask(Edges.edgeLayout(model.config), 2, 1);
 * assert.deepEqual(clean.shape, [2, 9, 25]); // [batch, sources, destinations]
 * ```
 */
export const fullMask = (layout: EdgeLayout, batch: number, value: number): HostTensor => ({
  data: new Float32Array(batch * layout.sources.length * layout.destinations.length).fill(value),
  shape: [batch, layout.sources.length, layout.destinations.length],
});
