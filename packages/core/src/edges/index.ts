/**
 * The component graph as data (layout: sources, destinations, edges, with EAP-IG/MIB names) and
 * the site a source writes. What the engine builds and binds for an edge plan stays inside core;
 * what uses the engine on edges (z′, attribution) is ../patching.
 */
export {
  type Edge,
  type EdgeDestination,
  type EdgeLayout,
  type EdgeSource,
  edgeLayout,
  edgeName,
  GRANULARITIES,
  type Granularity,
  kvSlots,
  maskIndex,
} from "./layout.ts";
export { sourceSite } from "./hooks.ts";
