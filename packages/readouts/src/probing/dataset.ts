import { InputError, type RuntimeError } from "@patchbay/core/errors";
import { type Intervention, plan, type PlanValues, runPlan } from "@patchbay/core/engine";
import { lookupSite } from "@patchbay/core/sites";
import type { Model, ModelConfig } from "@patchbay/core/model";
import type { SessionCache } from "@patchbay/core/runtime";
import { Effect } from "effect";
import type { ProbeData } from "./spec.ts";

/**
 * Features for probing, captured through the engine: for every (prompt b, position p) of the
 * dataset, the row x = site[b, p, …] flattened (or site[b, p, head, …] for one head). Prompts run
 * in chunks; optional interventions (with their values, per chunk) are applied first, so
 * the same code captures clean and edited activations (e.g. after a project-out erasure).
 */
export interface Features {
  /** X [n, dim], rows in dataset order (prompt by prompt, positions in the given order). */
  readonly X: Float64Array;
  readonly dim: number;
  /** [n]: the prompt each row came from (the split groups by it). */
  readonly group: Int32Array;
  /** [n]: the token id at the row's position. */
  readonly token: Int32Array;
}

export interface CaptureOptions {
  readonly head?: number | undefined;
  readonly chunkSize?: number;
  /**
   * Interventions and their values for prompts [start, end) (positions differ per chunk; the
   * plan's structure must not, so one compiled graph serves every chunk).
   */
  readonly interventionsFor?: (
    start: number,
    end: number,
  ) => { readonly interventions: readonly Intervention[]; readonly values: PlanValues };
}

/**
 * Check prompts/positions/labels agree in shape; InputError naming the first bad field.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Effect, Exit } from "effect";
 * import { checkProbeData } from "@patchbay/readouts";
 *
 * const ok = { prompts: [[0, 5, 6]], positions: [[1, 2]], labels: [[1, 2]] };
 * await Effect.runPromise(checkProbeData(ok));
 * const bad = { ...ok, labels: [[1]] }; // one label for two positions
 * assert.ok(Exit.isFailure(await Effect.runPromiseExit(checkProbeData(bad))));
 * ```
 */
export const checkProbeData = (data: ProbeData): Effect.Effect<void, InputError> =>
  Effect.gen(function* () {
    const n = data.prompts.length;
    if (n === 0)
      return yield* new InputError({ field: "data.prompts", expected: "at least one prompt", found: "none" });
    for (const [name, list] of [
      ["positions", data.positions],
      ["labels", data.labels],
      ...(data.types !== undefined ? [["types", data.types] as const] : []),
    ] as const) {
      if (list.length !== n)
        return yield* new InputError({
          field: `data.${name}`,
          expected: `one list per prompt (${n})`,
          found: `${list.length} lists`,
        });
    }
    for (let b = 0; b < n; b++) {
      const len = data.prompts[b]!.length;
      const ps = data.positions[b]!;
      for (const [j, p] of ps.entries())
        if (!Number.isInteger(p) || p < 0 || p >= len)
          return yield* new InputError({
            field: `data.positions[${b}][${j}]`,
            expected: `a position in [0, ${len})`,
            found: String(p),
          });
      if (data.labels[b]!.length !== ps.length)
        return yield* new InputError({
          field: `data.labels[${b}]`,
          expected: `one label per position (${ps.length})`,
          found: `${data.labels[b]!.length}`,
        });
      if (data.types !== undefined && data.types[b]!.length !== ps.length)
        return yield* new InputError({
          field: `data.types[${b}]`,
          expected: `one type per position (${ps.length})`,
          found: `${data.types[b]!.length}`,
        });
    }
  });

/** The rows' [batch, pos, …rest] layout of a site, or an InputError naming it. */
export const probeLayout = (
  c: ModelConfig,
  site: string,
  head: number | undefined,
): Effect.Effect<{ readonly canonical: string; readonly headAxis: boolean }, InputError> =>
  Effect.gen(function* () {
    const r = lookupSite(c, site);
    if (!r.ok)
      return yield* new InputError({
        field: "site",
        expected: `a site of ${c.name}; nearest: ${r.suggestions.join(", ")}`,
        found: JSON.stringify(site),
      });
    const dims = r.site.dims;
    if (dims[0] !== "batch" || dims[1] !== "pos")
      return yield* new InputError({
        field: "site",
        expected: "a site of shape [batch, pos, …]",
        found: `${r.site.name} [${dims.join(", ")}]`,
      });
    const headAxis = dims[2] === "head" || dims[2] === "kv_head";
    if (head !== undefined) {
      if (!headAxis)
        return yield* new InputError({
          field: "head",
          expected: "a site with a head axis [batch, pos, head, …]",
          found: `${r.site.name} [${dims.join(", ")}]`,
        });
      const H = dims[2] === "head" ? c.nHeads : c.nKvHeads;
      if (head >= H)
        return yield* new InputError({ field: "head", expected: `a head in [0, ${H})`, found: String(head) });
    }
    return { canonical: r.site.name, headAxis };
  });

/**
 * Capture the probing features of several sites in one pass over the dataset.
 *
 * Returns, per site, Features `{ X [rows, dim], dim, group, token }` (one row per listed position).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSessionCache } from "@patchbay/core/runtime";
 * import { inductionModel } from "@patchbay/zoo";
 * import { Effect, Schema } from "effect";
 * import { captureFeatures, prevTokenData } from "@patchbay/readouts";
 * const model = inductionModel(); // the compiled induction model: a0.h1 writes the previous token
 * const data = prevTokenData({ seed: 0, prompts: 12, length: 8, vocabSize: 32 });
 * const f = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.flatMap(makeSessionCache("doc", { threads: 1 }), (cache) =>
 *       captureFeatures(cache, model, ["blocks.1.resid_pre"], data),
 *     ),
 *   ),
 * ).then((m) => m.get("blocks.1.resid_pre")!);
 * assert.equal(f.dim, model.config.dModel);
 * assert.equal(f.X.length, 12 * 6 * f.dim); // 12 prompts × 6 positions
 * ```
 */
export const captureFeatures = (
  cache: SessionCache,
  model: Model,
  sites: readonly string[],
  data: Pick<ProbeData, "prompts" | "positions">,
  opts: CaptureOptions = {},
): Effect.Effect<Map<string, Features>, InputError | RuntimeError> =>
  Effect.gen(function* () {
    for (const s of sites) yield* probeLayout(model.config, s, opts.head);
    const n = data.positions.reduce((a, ps) => a + ps.length, 0);
    const chunk = opts.chunkSize ?? 32;
    const out = new Map<string, { X: Float64Array | null; dim: number }>(
      sites.map((s) => [s, { X: null, dim: 0 }]),
    );
    const group = new Int32Array(n);
    const token = new Int32Array(n);
    let row0 = 0;
    for (let start = 0; start < data.prompts.length; start += chunk) {
      const end = Math.min(data.prompts.length, start + chunk);
      const iv = opts.interventionsFor?.(start, end);
      const r = yield* runPlan(
        cache,
        model,
        plan({ captures: [...sites], interventions: [...(iv?.interventions ?? [])], logits: false }),
        data.prompts.slice(start, end),
        iv?.values ?? {},
      );
      const rows = data.positions.slice(start, end).reduce((a, ps) => a + ps.length, 0);
      for (const site of sites) {
        const x = r.sites.get(site)!; //                                        [b, P, …rest]
        const [, P] = x.shape as [number, number];
        const rest = x.shape.slice(2).reduce((a, b) => a * b, 1);
        const dim = opts.head !== undefined ? rest / x.shape[2]! : rest;
        const o = out.get(site)!;
        o.dim = dim;
        o.X ??= new Float64Array(n * dim);
        let row = row0;
        for (let b = start; b < end; b++)
          for (const p of data.positions[b]!) {
            const base = ((b - start) * P + p) * rest + (opts.head ?? 0) * dim;
            for (let k = 0; k < dim; k++) {
              const v = x.data[base + k]!;
              if (!Number.isFinite(v))
                return yield* new InputError({
                  field: `${site}[${b}, ${p}]`,
                  expected: "finite activations",
                  found: String(v),
                });
              o.X[row * dim + k] = v;
            }
            row++;
          }
      }
      for (let b = start, row = row0; b < end; b++)
        for (const p of data.positions[b]!) {
          group[row] = b;
          token[row] = data.prompts[b]![p]!;
          row++;
        }
      row0 += rows;
    }
    return new Map(
      [...out].map(([s, o]) => [s, { X: o.X ?? new Float64Array(0), dim: o.dim, group, token }] as const),
    );
  });
