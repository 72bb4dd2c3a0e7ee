export { faithfulness, faithfulnessPerExample } from "./faithfulness.ts";
export { MIB_FRACTIONS, MIB_PERCENTAGES, type MibAreas, mibAreas, trapezoid } from "./mib-area.ts";
export { averageRanks } from "./ranks.ts";
export { rocAuc } from "./roc.ts";
export { pearson, spearman } from "./spearman.ts";
export { quantileSorted, type Summary, summary } from "./summary.ts";
