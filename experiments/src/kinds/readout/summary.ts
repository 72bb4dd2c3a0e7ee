import { fmt, show, table, timeOf } from "../../cli/table.ts";
import type { SummaryCell } from "../kind.ts";
import { readoutFigures } from "./methods/lookup.ts";
import type { ReadoutCellResult } from "./result.ts";

/**
 * A readout run's summary: per cell its method, headline figure and the method's key figures
 * (figures.ts, each method's own) as `k=v` pairs.
 */
export const readoutSummary = (
  cells: readonly SummaryCell<ReadoutCellResult>[],
  keys: readonly string[],
): string => {
  const header = ["cell", "id", ...keys, "method", "headline", "value", "key figures", "time"];
  const rows = cells.map((c) => {
    if ((c.result as { readonly kind?: string }).kind !== "readout")
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
    const r = c.result;
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
