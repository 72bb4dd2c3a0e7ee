import type { InputError, RuntimeError } from "@patchbay/core/errors";
import type { Model } from "@patchbay/core/model";
import type { SessionCache } from "@patchbay/core/runtime";
import { Effect } from "effect";
import { positionLabel } from "../alignment/locate.ts";
import type { PositionSpec, SubspaceSpec } from "../alignment/schema.ts";
import type { CounterfactualExample } from "../model/counterfactuals.ts";
import type { CausalError } from "../model/errors.ts";
import type { CausalTask } from "../task/task.ts";
import { iia } from "./iia.ts";
import type { Rotations } from "./interchange.ts";

/**
 * IIA of one variable over a grid of (site, position) alignments, reported as MIB's causal
 * variable track does (docs/methods.md#iia-sweeps):
 *   perLayer[l] = max_p IIA[l][p]        the best position of each layer (site)
 *   mean = mean_l perLayer[l]            max = max_l perLayer[l]
 */
export interface SweepSpec {
  readonly variable: string;
  /** one site per row, usually one per layer (blocks.l.resid_pre) */
  readonly sites: readonly string[];
  readonly positions: readonly PositionSpec[];
  readonly subspace?: SubspaceSpec;
  readonly heads?: readonly number[];
}

export interface SweepResult {
  readonly variable: string;
  readonly sites: readonly string[];
  readonly positions: readonly string[];
  /** [site][position] IIA */
  readonly grid: readonly (readonly number[])[];
  readonly perLayer: readonly number[];
  readonly mean: number;
  readonly max: number;
  readonly best: { readonly site: string; readonly position: string; readonly iia: number };
  readonly n: number;
}

/**
 * Returns a SweepResult `{ variable, sites, positions, grid, perLayer, mean, max, best, n }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { counterfactuals, familyOf, iiaSweep, inductionCausalTask } from "@patchbay/causal";
 * import { makeSessionCache } from "@patchbay/core/runtime";
 * import { Effect } from "effect";
 *
 * const { task, network } = inductionCausalTask();
 * const data = counterfactuals(task.model, familyOf(task, "output"), { n: 8, seed: 1 });
 * const spec = { variable: "Y", sites: ["blocks.0.resid_pre", "blocks.1.resid_post"], positions: ["last" as const] };
 * const r = await Effect.runPromise(
 *   Effect.scoped(
 *     Effect.flatMap(makeSessionCache("doc", { threads: 1 }), (cache) => iiaSweep(cache, network(), task, spec, data)),
 *   ),
 * );
 * assert.equal(r.grid.length, 2);
 * assert.equal(r.best.site, "blocks.1.resid_post"); // the answer is written by layer 1
 * ```
 */
export const iiaSweep = (
  cache: SessionCache,
  model: Model,
  task: CausalTask,
  spec: SweepSpec,
  examples: readonly CounterfactualExample[],
  opts: { readonly rotations?: Rotations; readonly chunkSize?: number } = {},
): Effect.Effect<SweepResult, CausalError | InputError | RuntimeError> =>
  Effect.gen(function* () {
    const grid: number[][] = [];
    for (const site of spec.sites) {
      const row: number[] = [];
      for (const position of spec.positions) {
        const r = yield* iia(
          cache,
          model,
          task,
          [
            {
              variable: spec.variable,
              site,
              positions: [position],
              subspace: spec.subspace ?? "full",
              ...(spec.heads !== undefined ? { heads: spec.heads } : {}),
            },
          ],
          examples,
          opts,
        );
        row.push(r.accuracy);
      }
      grid.push(row);
    }
    return mibSummary(spec.variable, spec.sites, spec.positions.map(positionLabel), grid, examples.length);
  });

/**
 * MIB's aggregation of an IIA grid [site][position].
 *
 * Returns a SweepResult `{ variable, sites, positions, grid, perLayer, mean, max, best, n }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mibSummary } from "@patchbay/causal";
 *
 * const r = mibSummary("Y", ["blocks.0.resid_pre", "blocks.1.resid_pre"], ["last", "3"], [[0.1, 0.3], [0.9, 0.5]], 16);
 * assert.deepEqual(r.perLayer, [0.3, 0.9]);
 * assert.equal(r.max, 0.9);
 * assert.deepEqual(r.best, { site: "blocks.1.resid_pre", position: "last", iia: 0.9 });
 * ```
 */
export const mibSummary = (
  variable: string,
  sites: readonly string[],
  positions: readonly string[],
  grid: readonly (readonly number[])[],
  n: number,
): SweepResult => {
  const perLayer = grid.map((row) => Math.max(...row));
  let best = { site: sites[0]!, position: positions[0]!, iia: Number.NEGATIVE_INFINITY };
  grid.forEach((row, l) => {
    row.forEach((v, p) => {
      if (v > best.iia) best = { site: sites[l]!, position: positions[p]!, iia: v };
    });
  });
  return {
    variable,
    sites,
    positions,
    grid,
    perLayer,
    mean: perLayer.reduce((a, b) => a + b, 0) / perLayer.length,
    max: Math.max(...perLayer),
    best,
    n,
  };
};
