import { fmt, show, table, timeOf } from "../../cli/table.ts";
import type { SummaryCell } from "../kind.ts";
import type { CausalCellResult } from "./result.ts";

/** A causal run's summary: IIA (or the sweep's best and MIB mean/max, or DAS and its controls). */
export const causalSummary = (
  cells: readonly SummaryCell<CausalCellResult>[],
  keys: readonly string[],
): string => {
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
  const rows = cells.map((c) => {
    const r = c.result;
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
