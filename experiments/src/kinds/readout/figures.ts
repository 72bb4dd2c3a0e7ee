import type { RowOf } from "../../results/table-columns.ts";
import type { READOUT_FIGURE_COLUMNS } from "./columns.ts";

/**
 * The key figures of a readout cell, one flat record per cell: what the run table (JSONL /
 * Arrow), the CLI summary and the report's summary table show. Each method fills its own figures,
 * every one a column declared in columns.ts (READOUT_FIGURE_COLUMNS: the compiler checks
 * the names and value types); `headline` is the one number that best says how the readout came
 * out, with `headlineLabel` naming it.
 */
export type ReadoutFigures = {
  readonly headlineLabel: string;
  readonly headline: number | null;
} & Partial<RowOf<typeof READOUT_FIGURE_COLUMNS>>;
