/**
 * Edge patching on the engine: z′ (the ablated source outputs, full and compact) and edge
 * attribution (EAP's mask gradient) through the fused graph. The layout and the hooks it patches
 * are ../edges.
 */
export {
  EdgeAblation,
  type EdgeAblationData,
  ablatedSources,
  fullMask,
  sourceOutputs,
  sourceSites,
} from "./sources.ts";
export {
  ablatedInput,
  EDGE_ATTRIBUTION,
  EDGE_EMBED,
  edgeAttribution,
  edgeAttributionGraph,
} from "./attribution.ts";
export {
  type CompactSources,
  compactAblated,
  compactOutputs,
  compactSites,
  mapCompact,
  tileCompact,
} from "./compact.ts";
