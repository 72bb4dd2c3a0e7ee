import type { RowOf } from "../../results/table-columns.ts";
import { num } from "../../results/values.ts";
import type { CAUSAL_COLUMNS } from "./columns.ts";
import type { CausalCellResult } from "./result.ts";

/** A causal cell's values of the run table's causal columns (columns.ts). */
export const causalRow = (r: CausalCellResult): RowOf<typeof CAUSAL_COLUMNS> => ({
  task: r.task.name,
  family: r.task.family,
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
});
