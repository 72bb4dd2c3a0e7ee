import { kindOfResult } from "../kinds/index.ts";
import type { RunSummary } from "../run/experiment.ts";

/** The summary table `run` prints: one row per cell, in the columns of the run's kind (kinds/<kind>/summary.ts). */
export const summaryTable = (s: RunSummary): string => {
  const keys = [...new Set(s.cells.flatMap((c) => Object.keys(c.cell.varying)))];
  const first = s.cells[0];
  return first === undefined ? "" : kindOfResult(first.result).summary(s.cells, keys);
};
