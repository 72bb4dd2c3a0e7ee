export * from "./layout.ts";
export { EDGE_ABLATED, EDGE_MASK, edgeSites, sourceSite } from "./hooks.ts";
export type { EdgeValues } from "./bind.ts";
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
