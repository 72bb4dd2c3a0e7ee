/**
 * The component graph as data (layout: sources, destinations, edges) and what the engine builds
 * and binds for an edge plan (hooks, feeds). What uses the engine on edges (z′, attribution) is
 * ../patching.
 */
export * from "./layout.ts";
export { EDGE_ABLATED, EDGE_MASK, edgeSites, sourceSite } from "./hooks.ts";
export type { EdgeValues } from "./bind.ts";
