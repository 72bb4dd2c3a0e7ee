import { Bool, Float64, Table, tableFromIPC, tableToIPC, Utf8, vectorFromArray } from "apache-arrow";
import { readoutFigures } from "../results/readout-figures.ts";
import {
  type AnyCellResult,
  type CausalCellResult,
  isCausalResult,
  isReadoutResult,
  type ReadoutCellResult,
} from "../results/types.ts";

/** One row of a run's table: the cell id, its swept fields flattened (dotted paths), key metrics. */
export type TableRow = Readonly<Record<string, string | number | boolean | null>>;

const flatten = (prefix: string, v: unknown, out: Record<string, string | number | boolean | null>): void => {
  if (v !== null && typeof v === "object" && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) flatten(`${prefix}.${k}`, x, out);
  } else if (v === null || typeof v === "string" || typeof v === "boolean") out[prefix] = v;
  else if (typeof v === "number") out[prefix] = Number.isFinite(v) ? v : null;
  else out[prefix] = JSON.stringify(v);
};

const num = (x: number | null | undefined): number | null =>
  x === null || x === undefined || !Number.isFinite(x) ? null : x;

export const tableRow = (
  r: AnyCellResult,
  varying: Readonly<Record<string, unknown>>,
  extra: { readonly index: number; readonly seconds: number | null },
): TableRow => {
  const swept: Record<string, string | number | boolean | null> = {};
  for (const [k, v] of Object.entries(varying)) flatten(k, v, swept);
  if (isCausalResult(r)) return causalRow(r, swept, extra);
  if (isReadoutResult(r)) return readoutRow(r, swept, extra);
  return {
    cellId: r.cellId,
    index: extra.index,
    ...swept,
    method: r.method,
    examples: r.dataset.examples,
    edges: r.edges.filter((e) => e.inGraph).length,
    edgesTotal: r.edges.length,
    faithfulness: num(r.faithfulness.mean),
    faithfulnessMedian: num(r.faithfulness.perExample.median),
    faithfulnessMin: num(r.faithfulness.perExample.min),
    faithfulnessMax: num(r.faithfulness.perExample.max),
    metricFull: num(r.metric.full),
    metricEmpty: num(r.metric.empty),
    metricCircuit: num(r.metric.circuit),
    spearman: num(r.spearmanVsExact),
    precision: num(r.truth?.precision),
    recall: num(r.truth?.recall),
    auc: num(r.truth?.auc),
    cpr: num(r.curve?.cpr),
    cmd: num(r.curve?.cmd),
    seconds: num(extra.seconds),
  };
};

/** A causal cell's row: its IIA (or sweep summary, or DAS result and controls). */
const causalRow = (
  r: CausalCellResult,
  swept: Record<string, string | number | boolean | null>,
  extra: { readonly index: number; readonly seconds: number | null },
): TableRow => ({
  cellId: r.cellId,
  index: extra.index,
  ...swept,
  kind: "causal",
  method: r.method,
  task: r.task.name,
  family: r.task.family,
  examples: r.dataset.examples,
  iia: num(r.iia?.accuracy ?? r.sweep?.best.iia ?? r.das?.iia.test),
  mibMean: num(r.sweep?.mean),
  mibMax: num(r.sweep?.max),
  bestSite: r.sweep?.best.site ?? null,
  bestPosition: r.sweep?.best.position ?? null,
  dasTrain: num(r.das?.iia.train),
  dasTest: num(r.das?.iia.test),
  dasRank: num(r.das?.rank),
  dasSize: num(r.das?.size),
  randomModel: num(r.das?.controls?.randomModel.test),
  randomRotation: num(r.das?.controls?.randomRotation),
  fullComponent: num(r.das?.controls?.fullComponent),
  seconds: num(extra.seconds),
});

/** A readout cell's row: its method's key figures (readout-figures.ts), flat. */
const readoutRow = (
  r: ReadoutCellResult,
  swept: Record<string, string | number | boolean | null>,
  extra: { readonly index: number; readonly seconds: number | null },
): TableRow => {
  const { headlineLabel, headline, ...figures } = readoutFigures(r);
  return {
    cellId: r.cellId,
    index: extra.index,
    ...swept,
    kind: "readout",
    method: r.method,
    model: r.model.name,
    examples: r.dataset.examples,
    headline: num(headline),
    headlineLabel,
    ...Object.fromEntries(Object.entries(figures).map(([k, v]) => [k, typeof v === "number" ? num(v) : v])),
    seconds: num(extra.seconds),
  };
};

export const formatJsonl = (rows: readonly TableRow[]): string =>
  rows.map((r) => `${JSON.stringify(r)}\n`).join("");

/**
 * The rows as an Arrow IPC file: a column per key (in first-seen order); all-number columns are
 * Float64, all-boolean Bool, the rest Utf8; a key a row lacks is null.
 */
export const toArrow = (rows: readonly TableRow[]): Uint8Array => {
  const keys: string[] = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!keys.includes(k)) keys.push(k);
  const columns = Object.fromEntries(
    keys.map((k) => {
      const vs = rows.map((r) => r[k] ?? null);
      const present = vs.filter((v) => v !== null);
      if (present.length > 0 && present.every((v) => typeof v === "number"))
        return [k, vectorFromArray(vs as (number | null)[], new Float64())];
      if (present.length > 0 && present.every((v) => typeof v === "boolean"))
        return [k, vectorFromArray(vs as (boolean | null)[], new Bool())];
      return [
        k,
        vectorFromArray(
          vs.map((v) => (v === null ? null : String(v))),
          new Utf8(),
        ),
      ];
    }),
  );
  return tableToIPC(new Table(columns), "file");
};

/** Read an Arrow IPC table back as plain rows (what the tests and `ls` use). */
export const readArrow = (bytes: Uint8Array): Record<string, unknown>[] =>
  tableFromIPC(bytes)
    .toArray()
    .map((row) => ({ ...(row as { toJSON(): Record<string, unknown> }).toJSON() }));
