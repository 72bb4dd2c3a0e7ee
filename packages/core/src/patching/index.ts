/**
 * Edge patching on the engine: z′ (the ablated source outputs, full and compact) and edge
 * attribution (EAP's mask gradient) through the fused graph. The layout and the hooks it patches
 * are ../edges.
 */
export { EdgeAblation, type EdgeAblationData, ablatedSources, fullMask } from "./sources.ts";
export { EDGE_ATTRIBUTION_SESSIONS, edgeAttribution, edgeAttributionResample } from "./attribution.ts";
export { type IgRun, igInputsAttribution } from "./attribution-ig.ts";
export { type CompactSources, compactAblated, compactSites, mapCompact, tileCompact } from "./compact.ts";
export { EXACT_PATCHING_SESSIONS, type ExactEdgeRun, exactEdgePatching } from "./exact-edges.ts";
export { type CleanStreams, cleanStreams } from "./clean-streams.ts";
export { evaluateMasksFrom, type MaskedRun } from "./masked-from.ts";
export { cleanState, type MaskedState, maskedStart, stepMaskFrom } from "./masked-state.ts";
