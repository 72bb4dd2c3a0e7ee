/**
 * @patchbay/circuits — the patchable component graph and circuit discovery on it: EAP, EAP-IG,
 * ACDC, exact edge patching, activation and path patching; selection, pruning, faithfulness and
 * MIB's areas, ROC AUC; export as EAP-IG/MIB JSON, Graphviz DOT and SVG.
 */
export * from "./graph/index.ts";
export * from "./select/index.ts";
export * from "./evaluate/index.ts";
export * from "./export/index.ts";
export * from "./methods/index.ts";
