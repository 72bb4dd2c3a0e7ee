/**
 * Self-contained HTML reports of sweep results: a page per cell (circuit laid out by elkjs as
 * inline SVG, faithfulness curve, per-example spread, truth comparison, score table, spec) and a
 * page per run (summary table of its cells and every cell's section). `patchbay report`.
 */
export { curveSvg, spreadSvg } from "./charts.ts";
export { cellResultFromDiscovery, inductionCell } from "./fixture.ts";
export { type CircuitSvg, circuitSvg, parseEdge, parseNode } from "./graph.ts";
export { esc } from "./html.ts";
export { flattenSpec, type RunManifest, renderCellReport, renderRunReport, varyingFields } from "./render.ts";
export {
  decodeManifest,
  type ReportPaths,
  reportCommand,
  reportFlags,
  reportUsage,
  resolveRun,
  writeReport,
} from "./write.ts";
