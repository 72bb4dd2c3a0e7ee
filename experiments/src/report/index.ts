/**
 * Self-contained HTML reports of sweep results: a page per cell (circuit laid out by elkjs as
 * inline SVG, faithfulness curve, per-example spread, truth comparison, score table, spec) and a
 * page per run (summary table of its cells and every cell's section). `patchbay report`.
 * Each kind of cell brings its own section and summary columns (kinds/<kind>/report.ts): causal
 * cells get cards, the IIA heatmap of a sweep, DAS against its controls with the training curve,
 * or the per-family IIA; readout cells a section per method (kinds/readout/methods/).
 */
export {
  CONTROL_MARGIN,
  causalCellBody,
  causalSummaryColumns,
  causalVariable,
  headlineIia,
} from "../kinds/causal/report.ts";
export { curveSvg, type LossPoint, lossCurveSvg, spreadSvg } from "./charts.ts";
export { lineChartSvg, type Series } from "./line-chart.ts";
export {
  causalCells,
  causalDasCell,
  causalIiaCell,
  causalSweepCell,
  cellResultFromDiscovery,
  iiaGridOf,
  inductionCell,
} from "./fixture.ts";
export { type CircuitSvg, circuitSvg, parseEdge, parseNode } from "./graph.ts";
export {
  type HeatmapOptions,
  type HeatmapSvg,
  heatmapSvg,
  IIA_MISSING,
  IIA_SCALE,
  iiaColor,
  type ColorScale,
  scaleColor,
  type ValueGrid,
  valueHeatmapSvg,
} from "./heatmap.ts";
export { READOUT_CSS, readoutCellBody } from "../kinds/readout/report.ts";
export { keyFigures, readoutSummaryColumns } from "../kinds/readout/report-summary.ts";
export { READOUT_FIXTURE_DOCS, readoutFixtureCell, readoutFixtureCells } from "./readout-fixture.ts";
export { esc } from "./html.ts";
export { type ComparisonMetric, type ComparisonSvg, comparisonSvg } from "./comparison.ts";
export { type RunManifest, renderCellReport } from "./render.ts";
export { renderRunReport } from "./run-page.ts";
export { fieldLabel, flattenSpec, type SummaryColumn, summaryTable, varyingFields } from "./summary.ts";
export {
  decodeManifest,
  type ReportPaths,
  reportCommand,
  resolveRun,
  writeReport,
} from "./write.ts";
