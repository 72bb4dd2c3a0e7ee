import type { RunSummary } from "../run/experiment.ts";
import { readoutFigures } from "../kinds/readout/figures.ts";
import {
  type CausalCellResult,
  type CellResult,
  isCausalResult,
  isReadoutResult,
  type ReadoutCellResult,
} from "../results/types.ts";

/** The summary table `run` prints: one row per cell, per kind of experiment. */

const fmt = (x: number | null | undefined, d = 3) =>
  x === null || x === undefined || !Number.isFinite(x) ? "—" : x.toFixed(d);

export const show = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v));

export const table = (
  header: readonly string[],
  rows: readonly (readonly string[])[],
  right: ReadonlySet<number>,
) => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: readonly string[]) =>
    r
      .map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "─".repeat(w))), ...rows.map(line)].join("\n");
};

const timeOf = (c: RunSummary["cells"][number]): string =>
  c.skipped ? "cached" : c.seconds === null ? "—" : `${c.seconds.toFixed(2)} s`;

/** A causal run's summary: IIA (or the sweep's best and MIB mean/max, or DAS and its controls). */
const causalSummary = (s: RunSummary, keys: readonly string[]): string => {
  const header = [
    "cell",
    "id",
    ...keys,
    "method",
    "IIA",
    "where",
    "MIB mean",
    "MIB max",
    "DAS train",
    "DAS test",
    "random model",
    "random rotation",
    "full",
    "time",
  ];
  const rows = s.cells.map((c) => {
    const r = c.result as CausalCellResult;
    return [
      String(c.cell.index + 1),
      c.cellId.slice(0, 12),
      ...keys.map((k) => (k in c.cell.varying ? show(c.cell.varying[k]) : "")),
      r.method,
      fmt(r.iia?.accuracy ?? r.sweep?.best.iia ?? r.das?.iia.test),
      r.sweep !== null
        ? `${r.sweep.best.site} @ ${r.sweep.best.position}`
        : r.das !== null
          ? `${r.das.site} @ ${r.das.positions.join(",")}`
          : "",
      fmt(r.sweep?.mean),
      fmt(r.sweep?.max),
      fmt(r.das?.iia.train),
      fmt(r.das?.iia.test),
      fmt(r.das?.controls?.randomModel.test),
      fmt(r.das?.controls?.randomRotation),
      fmt(r.das?.controls?.fullComponent),
      timeOf(c),
    ];
  });
  const right = new Set(
    header.map((_, i) => i).filter((i) => i === 0 || (i >= 4 + keys.length && i !== 5 + keys.length)),
  );
  // drop the columns no cell of this run fills (an iia run has no DAS or MIB columns)
  const keep = header.map((_, i) => i < 4 + keys.length || rows.some((r) => r[i] !== "—" && r[i] !== ""));
  const pick = <T>(xs: readonly T[]) => xs.filter((_, i) => keep[i]);
  const kept = header.map((_, i) => i).filter((i) => keep[i]);
  return table(pick(header), rows.map(pick), new Set(kept.flatMap((i, j) => (right.has(i) ? [j] : []))));
};

/**
 * A readout run's summary: per cell its method, headline figure and the method's key figures
 * (readout-figures.ts) as `k=v` pairs.
 */
const readoutSummary = (s: RunSummary, keys: readonly string[]): string => {
  const header = ["cell", "id", ...keys, "method", "headline", "value", "key figures", "time"];
  const rows = s.cells.map((c) => {
    if (!isReadoutResult(c.result))
      return [
        String(c.cell.index + 1),
        c.cellId.slice(0, 12),
        ...keys.map(() => ""),
        "(not a readout)",
        "",
        "",
        "",
        timeOf(c),
      ];
    const r = c.result as ReadoutCellResult;
    const { headlineLabel, headline, ...figures } = readoutFigures(r);
    const shown = Object.entries(figures)
      .filter(([, v]) => v !== null)
      .map(
        ([k, v]) =>
          `${k}=${typeof v === "number" ? (Number.isInteger(v) ? String(v) : fmt(v)) : String(v).length > 40 ? `${String(v).slice(0, 37)}...` : String(v)}`,
      )
      .join(" ");
    return [
      String(c.cell.index + 1),
      c.cellId.slice(0, 12),
      ...keys.map((k) => (k in c.cell.varying ? show(c.cell.varying[k]) : "")),
      r.method,
      headlineLabel,
      fmt(headline),
      shown,
      timeOf(c),
    ];
  });
  return table(header, rows, new Set([0, 4 + keys.length]));
};

export const summaryTable = (s: RunSummary): string => {
  const keys = [...new Set(s.cells.flatMap((c) => Object.keys(c.cell.varying)))];
  if (s.cells.some((c) => isReadoutResult(c.result))) return readoutSummary(s, keys);
  if (s.cells.some((c) => isCausalResult(c.result))) return causalSummary(s, keys);
  const circuit = s.cells.map((c) => c.result as CellResult);
  const anyTruth = circuit.some((r) => r.truth !== null);
  const header = [
    "cell",
    "id",
    ...keys,
    keys.includes("method") ? "found by" : "method",
    "edges",
    "faithfulness",
    ...(anyTruth ? ["precision", "recall", "AUC"] : []),
    "time",
  ];
  const rows = s.cells.map((c, i) => {
    const r = circuit[i]!;
    return [
      String(c.cell.index + 1),
      c.cellId.slice(0, 12),
      ...keys.map((k) => (k in c.cell.varying ? show(c.cell.varying[k]) : "")),
      r.method,
      String(r.edges.filter((e) => e.inGraph).length),
      fmt(r.faithfulness.mean),
      ...(anyTruth ? [fmt(r.truth?.precision), fmt(r.truth?.recall), fmt(r.truth?.auc)] : []),
      timeOf(c),
    ];
  });
  const right = new Set(header.map((_, i) => i).filter((i) => i === 0 || i >= 2 + keys.length + 1));
  return table(header, rows, right);
};
