import { createHash } from "node:crypto";
import {
  compareToTruth,
  type Discovered,
  type Discovery,
  discover,
  type EdgeSetup,
  mibScores,
  prepareEdges,
} from "@patchbay/circuits";
import { builtinCircuit, type EdgeLayout, openModel, taskFor } from "@patchbay/core";
import { Effect } from "effect";
import type { CellResult } from "../results/types.ts";

/**
 * A CellResult from a discovery run made with the circuits API directly (for the report's tests
 * and previews; the sweep runner writes the real ones). Scores that are not finite become null;
 * the curve is that of |score| circuits (as the selection ranks), with CPR and CMD as MIB reports them.
 */
export const cellResultFromDiscovery = (o: {
  readonly spec: unknown;
  readonly model: { readonly name: string; readonly nLayers: number; readonly nHeads: number };
  readonly layout: EdgeLayout;
  readonly discovered: Discovered;
  readonly examples: number;
  readonly truthEdges?: readonly string[];
  readonly mib?: {
    readonly cpr: number;
    readonly cmd: number;
    readonly absolute: {
      readonly fractions: readonly number[];
      readonly edges: readonly number[];
      readonly faithfulness: readonly number[];
    };
  };
  readonly metricKind?: string;
}): CellResult => {
  const { discovered: r, layout } = o;
  const hash = (v: unknown) => createHash("sha256").update(JSON.stringify(v)).digest("hex").slice(0, 16);
  const truth = o.truthEdges === undefined ? null : compareToTruth(layout, r.inGraph, r.scores, o.truthEdges);
  const s = r.evaluation.perExample;
  return {
    patchbayVersion: "0.1.0-dev",
    cellId: hash({ spec: o.spec, model: o.model.name }),
    spec: o.spec,
    model: { ...o.model, weightsHash: hash(o.model.name) },
    dataset: { hash: hash(["dataset", o.spec]), examples: o.examples },
    method: r.method,
    edges: layout.edges.map((e, i) => ({
      name: e.name,
      score: Number.isFinite(r.scores[i]!) ? r.scores[i]! : null,
      inGraph: r.inGraph[i] === 1,
    })),
    metric: {
      kind: o.metricKind ?? "logit-diff",
      full: r.full,
      empty: r.empty,
      circuit: r.evaluation.metric,
    },
    faithfulness: {
      mean: r.evaluation.faithfulness,
      perExample: { mean: s.mean, median: s.median, q25: s.q25, q75: s.q75, min: s.min, max: s.max },
    },
    curve: o.mib
      ? {
          fractions: o.mib.absolute.fractions,
          edges: o.mib.absolute.edges,
          faithfulness: o.mib.absolute.faithfulness,
          cpr: o.mib.cpr,
          cmd: o.mib.cmd,
        }
      : null,
    spearmanVsExact: r.check?.spearman ?? null,
    truth:
      truth === null
        ? null
        : { precision: truth.precision, recall: truth.recall, auc: truth.auc, edges: o.truthEdges! },
  };
};

/** builtin:induction (corrupting the first block, resample ablation, logit difference), one method. */
export const inductionCell = (
  discovery: Discovery,
  opts: { n?: number; seed?: number; extraSpec?: unknown } = {},
) =>
  Effect.scoped(
    Effect.gen(function* () {
      const name = "builtin:induction";
      const n = opts.n ?? 16;
      const seed = opts.seed ?? 0;
      const model = yield* openModel(name);
      const task = taskFor(name, { seed, n, options: { corrupt: "first" } });
      const setup: EdgeSetup = yield* prepareEdges(model.sessions, model, {
        ...task,
        ablation: "resample",
        metric: "logit-diff",
      });
      const discovered = yield* discover(setup, discovery);
      const mib = yield* mibScores(setup, discovered.scores);
      return cellResultFromDiscovery({
        spec: {
          model: name,
          n,
          seed,
          ablation: "resample",
          metric: "logit-diff",
          discovery,
          extra: opts.extraSpec,
        },
        model: { name, nLayers: model.config.nLayers, nHeads: model.config.nHeads },
        layout: setup.layout,
        discovered,
        examples: n,
        truthEdges: builtinCircuit(name).variants["resample/first"]!,
        mib,
      });
    }),
  );
