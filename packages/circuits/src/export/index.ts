export { type DrawOptions, toDot } from "./dot.ts";
export { fromMibJson, type MibGraphJson, mibJsonProblem, toMibJson } from "./mib-json.ts";
export { edgeColor, KIND_COLORS, NEGATIVE_COLOR, POSITIVE_COLOR, type WidthRange } from "./style.ts";
export { toSvg } from "./svg.ts";
