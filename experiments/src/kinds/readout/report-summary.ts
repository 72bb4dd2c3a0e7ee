import { readoutFigures } from "./methods/lookup.ts";
import { READOUT_FIGURE_COLUMNS } from "./columns.ts";
import type { ReadoutCellResult } from "./result.ts";
import { fmt, fmtScore } from "../../report/html.ts";
import type { ComparisonMetric } from "../../report/comparison.ts";
import type { SummaryColumn } from "../../report/summary.ts";

/** A readout cell's row in a run's readout summary table: its headline and key figures in words. */

/** A readout cell's key figures in words: `label value` for each figure it has. */
export const keyFigures = (r: ReadoutCellResult): string => {
  const { headlineLabel: _l, headline: _h, ...figures } = readoutFigures(r);
  return Object.entries(figures)
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => {
      const label = READOUT_FIGURE_COLUMNS[k as keyof typeof READOUT_FIGURE_COLUMNS]?.label ?? k;
      return `${label} ${typeof v === "number" ? (Number.isInteger(v) ? String(v) : fmtScore(v)) : v}`;
    })
    .join(" · ");
};

/** The columns of the readout summary table after the cell and spec columns. */
export const readoutSummaryColumns = (
  secondsOf: (r: ReadoutCellResult) => number | undefined,
): SummaryColumn<ReadoutCellResult>[] => [
  { key: "method", label: "method", text: (r) => r.method },
  { key: "model", label: "model", text: (r) => r.model.name },
  { key: "headline", label: "headline", text: (r) => readoutFigures(r).headlineLabel },
  { key: "value", label: "value", numeric: true, text: (r) => fmt(readoutFigures(r).headline) },
  { key: "figures", label: "key figures", text: keyFigures },
  { key: "seconds", label: "seconds", numeric: true, text: (r) => fmt(secondsOf(r), 1) },
];

/**
 * One panel per headline that two cells or more share (a method's headline is its own figure:
 * cells of different methods have nothing to compare).
 */
export const readoutMetrics = (
  cells: readonly ReadoutCellResult[],
): ComparisonMetric<ReadoutCellResult>[] => {
  const labels = cells.map((r) => readoutFigures(r).headlineLabel);
  const shared = [...new Set(labels)].filter((l) => labels.filter((x) => x === l).length > 1);
  return shared.slice(0, 4).map((label, i) => ({
    key: `headline${i}`,
    label,
    domain: "free" as const,
    value: (r: ReadoutCellResult) => {
      const f = readoutFigures(r);
      return f.headlineLabel === label ? f.headline : null;
    },
  }));
};
