import { mibSummary } from "@patchbay/causal";
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
import type { EdgeLayout } from "@patchbay/core/edges";
import { openModel } from "@patchbay/core/runtime";
import { builtinCircuit, taskFor } from "@patchbay/zoo";
import { Effect } from "effect";
import { cellEnvelope } from "../results/envelope.ts";
import type { CausalCellResult, CellResult, IiaGrid } from "../kinds/index.ts";

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
  const id = {
    cellId: hash({ spec: o.spec, model: o.model.name }),
    weightsHash: hash(o.model.name),
    datasetHash: hash(["dataset", o.spec]),
    examples: o.examples,
    patchbayVersion: "0.1.0-dev",
  };
  return {
    ...cellEnvelope("circuit", id, o.spec, o.model, r.method),
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
    artifact: null,
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

/** An IiaGrid from its cells, with MIB's aggregation (per-layer max, then mean and max) and the best cell. */
export const iiaGridOf = (
  variable: string,
  sites: readonly string[],
  positions: readonly string[],
  grid: readonly (readonly number[])[],
): IiaGrid => {
  const { n: _n, ...g } = mibSummary(variable, sites, positions, grid, 0);
  return g;
};

const causalBase = (method: string, spec: unknown, cellId: string) =>
  cellEnvelope(
    "causal",
    {
      cellId,
      weightsHash: "w0123456789abcdef",
      datasetHash: "d0123456789abcdef",
      examples: 96,
      patchbayVersion: "0.1.0-dev",
    },
    spec,
    { name: "builtin:induction", nLayers: 2, nHeads: 4 },
    method,
  );

/**
 * A synthetic iia-sweep cell: `sites` × `positions` of smooth IIA values with one cell exactly 1
 * (the best: row 1 or the last, column 5 or the last) and one exactly 0 (last row, first column).
 */
export const causalSweepCell = (
  o: { sites?: number; positions?: number; variable?: string; cellId?: string } = {},
): CausalCellResult => {
  const nS = o.sites ?? 3;
  const nP = o.positions ?? 8;
  const variable = o.variable ?? "X<Y & Z";
  const sites = Array.from({ length: nS }, (_, i) => `L${i}.resid<post>`);
  const positions = Array.from({ length: nP }, (_, j) =>
    j === 0 ? "bos" : j === nP - 1 ? "last" : `tok${j}`,
  );
  const grid = sites.map((_, i) =>
    positions.map((_, j) => Math.round((0.45 + 0.4 * Math.sin(i * 1.7 + j * 0.9)) * 1000) / 1000),
  );
  grid[nS - 1]![0] = 0;
  grid[Math.min(1, nS - 1)]![Math.min(5, nP - 1)] = 1;
  const sweep = iiaGridOf(variable, sites, positions, grid);
  return {
    ...causalBase(
      "iia-sweep",
      { method: "iia-sweep", task: "copy", variable, sites: "resid_post", positions: "all" },
      o.cellId ?? "ca05a1sweep00001",
    ),
    task: { name: "copy", family: "all", variables: [variable] },
    iia: null,
    sweep,
    das: null,
  };
};

/** A synthetic boundless-DAS cell with every control, two held-out families and a 30-step curve. */
export const causalDasCell = (o: { cellId?: string } = {}): CausalCellResult => ({
  ...causalBase(
    "das",
    { method: "das", task: "copy", variable: "pos&tok", parametrization: "boundless", rank: 16 },
    o.cellId ?? "ca05a1das0000001",
  ),
  task: { name: "copy", family: "train-families", variables: ["pos&tok"] },
  iia: null,
  sweep: null,
  das: {
    variable: "pos&tok",
    site: "L1.resid<post>",
    positions: ["last", "tok3"],
    parametrization: "boundless",
    rank: 16,
    size: 3.4,
    iia: { train: 0.97, test: 0.91 },
    controls: {
      randomModel: { train: 0.62, test: 0.23, seed: 7 },
      randomRotation: 0.18,
      fullComponent: 0.94,
      heldOut: { "swap<a>": 0.88, "rare & long": 0.41 },
    },
    curve: Array.from({ length: 30 }, (_, k) => ({
      step: k * 10,
      loss: Math.round((0.05 + 2 * Math.exp(-k / 6)) * 1e4) / 1e4,
      size: Math.round((3.4 + 12.6 * Math.exp(-k / 8)) * 100) / 100,
    })),
    artifact: "artifacts/rotations/ca05a1das0000001.bin",
  },
});

/** A synthetic iia cell (a fixed alignment) with three families. */
export const causalIiaCell = (o: { cellId?: string } = {}): CausalCellResult => ({
  ...causalBase(
    "iia",
    { method: "iia", task: "copy", alignment: { site: "L1", position: "last" } },
    o.cellId ?? "ca05a1iia0000001",
  ),
  task: { name: "copy", family: "all", variables: ["X", "Y"] },
  iia: {
    accuracy: 0.8125,
    n: 96,
    perFamily: {
      "same-length": { accuracy: 0.95, n: 40 },
      "<longer>": { accuracy: 0.7, n: 32 },
      "mixed & noisy": { accuracy: 0.72, n: 24 },
    },
  },
  sweep: null,
  das: null,
});

/** The three causal fixtures: an iia-sweep (3 sites × 8 positions), a das and an iia cell. */
export const causalCells = (): { sweep: CausalCellResult; das: CausalCellResult; iia: CausalCellResult } => ({
  sweep: causalSweepCell(),
  das: causalDasCell(),
  iia: causalIiaCell(),
});
