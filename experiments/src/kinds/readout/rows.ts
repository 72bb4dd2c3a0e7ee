import type { RowOf } from "../../results/table-columns.ts";
import { READOUT_COLUMNS } from "./columns.ts";
import { num } from "../../results/values.ts";
import { readoutFigures } from "./methods/lookup.ts";
import type { ReadoutCellResult } from "./result.ts";

/** A readout cell's values of the run table's readout columns: its headline and key figures. */
export const readoutRow = (r: ReadoutCellResult): RowOf<typeof READOUT_COLUMNS> => {
  const f = readoutFigures(r);
  const out: Record<string, string | number | null> = {};
  for (const name of Object.keys(READOUT_COLUMNS)) {
    const v = (f as Readonly<Record<string, string | number | null | undefined>>)[name];
    out[name] = typeof v === "number" ? num(v) : (v ?? null);
  }
  return out as RowOf<typeof READOUT_COLUMNS>;
};
