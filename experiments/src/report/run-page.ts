import { readoutFigures } from "../kinds/readout/figures.ts";
import { TABLE_KINDS } from "../results/table-columns.ts";
import {
  type AnyCellResult,
  type CausalCellResult,
  type CellResult,
  isCausalResult,
  isReadoutResult,
  type ReadoutCellResult,
} from "../results/types.ts";
import { CAUSAL_CSS, causalCellBody, causalSummaryColumns, headlineIia } from "../kinds/causal/report.ts";
import { type ComparisonMetric, comparisonSvg } from "./comparison.ts";
import { fmt, type Html, html, prettyJson, raw } from "./html.ts";
import { page } from "./page.ts";
import { READOUT_CSS, readoutCellBody } from "../kinds/readout/report.ts";
import { readoutSummaryColumns } from "../kinds/readout/report-summary.ts";
import { circuitCellBody, inGraphCount, type RunManifest } from "./render.ts";
import {
  compactValue,
  fieldLabel,
  type SummaryColumn,
  specAt,
  summaryTable,
  varyingFields,
} from "./summary.ts";

/**
 * The page of a run: per kind of cell (circuit discovery, causal abstraction, readout) a summary
 * table with human labels and, for a sweep, one comparison chart across its cells; then the run's
 * spec and every cell's section (each cell also has its own page).
 */

const cellAnchor = (id: string) => `cell-${id}`;

/** A cell's seconds from the manifest: `cellSeconds[id]`, else a numeric `timings[id]`. */
const secondsOf = (manifest: RunManifest, id: string): number | undefined =>
  manifest.cellSeconds?.[id] ?? manifest.timings?.[id];

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

const cellColumn: SummaryColumn<AnyCellResult> = {
  key: "cell",
  label: "cell",
  mono: true,
  fixed: true,
  text: (r) => r.cellId.slice(0, 12),
  tip: (r) => r.cellId,
  href: (r) => `#${cellAnchor(r.cellId)}`,
};

/**
 * A column per spec field that varies between the cells, labelled in words (tooltip: the path);
 * the method's tag is the method column already.
 */
const specColumns = <R extends AnyCellResult>(varying: readonly string[]): SummaryColumn<R>[] =>
  varying
    .filter((k) => k !== "method" && k !== "method._tag")
    .map((k) => ({
      key: `spec:${k}`,
      label: fieldLabel(k),
      title: k,
      max: 32,
      text: (r: R) => compactValue(specAt(r.spec, k)),
    }));

/** A spec value as a category: a string, or a tagged object's tag; numbers are not categories. */
const categorical = (v: unknown): string | null => {
  if (typeof v === "string") return v;
  if (v !== null && typeof v === "object" && typeof (v as { _tag?: unknown })._tag === "string")
    return (v as { _tag: string })._tag;
  return null;
};

/**
 * What a cell is in the comparison chart: its varying fields as the label, and as its colour the
 * categorical fields together (method × ablation) when that makes at most 8 groups, else the one
 * field that does (the method first).
 */
const comparisonRow = (varying: readonly string[], cells: readonly AnyCellResult[]) => {
  const fields = varying.filter((k) => cells.some((r) => categorical(specAt(r.spec, k)) !== null));
  const groupOf = (ks: readonly string[]) => (r: AnyCellResult) =>
    ks.map((k) => categorical(specAt(r.spec, k)) ?? "—").join(" · ");
  const byMethodFirst = [...fields].sort(
    (a, b) => Number(b.startsWith("method")) - Number(a.startsWith("method")),
  );
  const choice = [fields, ...byMethodFirst.map((k) => [k])].find((ks) => {
    const n = new Set(cells.map(groupOf(ks))).size;
    return ks.length > 0 && n > 1 && n <= 8;
  });
  // the method's own fields need no "method" in front (τ 0.5 · task seed 1 · ablation zero)
  const word = (k: string) => fieldLabel(k).replace(/^method /, "");
  return (r: AnyCellResult) => {
    const label = varying
      .flatMap((k) => {
        const v = specAt(r.spec, k);
        if (v === undefined) return [];
        const c = categorical(v);
        return [c !== null && (k === "method" || k === "method._tag") ? c : `${word(k)} ${compactValue(v)}`];
      })
      .join(" · ");
    return {
      id: r.cellId,
      label: label === "" ? `${r.method} ${r.cellId.slice(0, 8)}` : label,
      group: choice === undefined ? null : groupOf(choice)(r),
    };
  };
};

const comparisonFigure = (svg: ReturnType<typeof comparisonSvg>, what: string): Html =>
  svg === null
    ? html``
    : html`<div class="figure comparison">${raw(svg.svg)}</div>
<p class="note">${what} One row per cell (labelled by the spec fields that vary), one mark per cell in each panel; colours: the cells' categorical fields. Hover a mark for its value.</p>
`;

const CIRCUIT = TABLE_KINDS.circuit;

const circuitMetrics: ComparisonMetric<CellResult>[] = [
  {
    key: "faithfulness",
    label: "faithfulness",
    domain: "unit",
    reference: 1,
    value: (r) => r.faithfulness.mean,
  },
  { key: "auc", label: "AUC (truth)", domain: "unit", value: (r) => r.truth?.auc },
  { key: "cpr", label: "CPR", domain: "unit", value: (r) => r.curve?.cpr },
  { key: "edges", label: "edges in circuit", domain: "count", value: (r) => inGraphCount(r) },
];

const circuitColumns = (secs: (r: CellResult) => number | undefined): SummaryColumn<CellResult>[] => {
  const num = (key: keyof typeof CIRCUIT, value: (r: CellResult) => number | null | undefined) => ({
    key,
    label: CIRCUIT[key].label,
    title: CIRCUIT[key].description,
    numeric: true,
    text: (r: CellResult) => fmt(value(r)),
  });
  return [
    { key: "method", label: "method", text: (r) => r.method },
    { key: "model", label: "model", text: (r) => r.model.name },
    {
      key: "edges",
      label: "edges in circuit",
      numeric: true,
      text: (r) => `${inGraphCount(r)} / ${r.edges.length}`,
    },
    num("faithfulness", (r) => r.faithfulness.mean),
    num("faithfulnessMedian", (r) => r.faithfulness.perExample.median),
    {
      key: "range",
      label: "faithfulness range",
      title: "per example: min – max",
      numeric: true,
      text: (r) => `${fmt(r.faithfulness.perExample.min, 2)} – ${fmt(r.faithfulness.perExample.max, 2)}`,
    },
    num("cpr", (r) => r.curve?.cpr),
    num("cmd", (r) => r.curve?.cmd),
    num("precision", (r) => r.truth?.precision),
    num("recall", (r) => r.truth?.recall),
    num("auc", (r) => r.truth?.auc),
    num("spearman", (r) => r.spearmanVsExact),
    { key: "seconds", label: "seconds", numeric: true, text: (r) => fmt(secs(r), 1) },
  ];
};

const causalMetrics: ComparisonMetric<CausalCellResult>[] = [
  { key: "iia", label: "IIA", domain: "unit", value: (r) => headlineIia(r) ?? r.das?.iia.test },
  { key: "mibMean", label: "MIB mean", domain: "unit", value: (r) => r.sweep?.mean },
  {
    key: "randomModel",
    label: "control: random model",
    domain: "unit",
    value: (r) => r.das?.controls?.randomModel.test,
  },
  {
    key: "fullComponent",
    label: "control: full component",
    domain: "unit",
    value: (r) => r.das?.controls?.fullComponent,
  },
];

/**
 * One panel per headline that two cells or more share (a method's headline is its own figure:
 * cells of different methods have nothing to compare).
 */
const readoutMetrics = (cells: readonly ReadoutCellResult[]): ComparisonMetric<ReadoutCellResult>[] => {
  const labels = cells.map((r) => readoutFigures(r).headlineLabel);
  const shared = [...new Set(labels)].filter((l) => labels.filter((x) => x === l).length > 1);
  return shared.slice(0, 4).map((label, i) => ({
    key: `headline${i}`,
    label,
    domain: "free" as const,
    value: (r: ReadoutCellResult) => {
      const f = readoutFigures(r);
      return f.headlineLabel === label ? f.headline : null;
    },
  }));
};

export const renderRunReport = async (
  manifest: RunManifest,
  results: readonly AnyCellResult[],
): Promise<string> => {
  const byId = new Map(results.map((r) => [r.cellId, r]));
  const ordered = [
    ...manifest.cells.flatMap((id) => (byId.has(id) ? [byId.get(id)!] : [])),
    ...results.filter((r) => !manifest.cells.includes(r.cellId)),
  ];
  const missing = manifest.cells.filter((id) => !byId.has(id));
  const circuits = ordered.filter((r): r is CellResult => !isCausalResult(r) && !isReadoutResult(r));
  const causals = ordered.filter(isCausalResult);
  const readouts = ordered.filter(isReadoutResult);
  const mixed = [circuits, causals, readouts].filter((k) => k.length > 0).length > 1;
  // the spec fields that vary, within each kind of cell
  const varyingCircuit = varyingFields(circuits.map((r) => r.spec)).slice(0, 8);
  const varyingCausal = varyingFields(causals.map((r) => r.spec)).slice(0, 8);
  const varyingReadout = varyingFields(readouts.map((r) => r.spec)).slice(0, 8);
  const varyingOf = (r: AnyCellResult) =>
    isCausalResult(r) ? varyingCausal : isReadoutResult(r) ? varyingReadout : varyingCircuit;
  const secs = (r: AnyCellResult) => secondsOf(manifest, r.cellId);

  const kindPart = <R extends AnyCellResult>(o: {
    readonly heading: string;
    readonly chartTitle: string;
    readonly cls: string;
    readonly cells: readonly R[];
    readonly varying: readonly string[];
    readonly columns: readonly SummaryColumn<R>[];
    readonly metrics: readonly ComparisonMetric<R>[];
    readonly note: string;
    readonly chartNote: string;
  }): Html => {
    if (o.cells.length === 0) return html``;
    const chart = comparisonSvg({
      title: o.chartTitle,
      rows: o.cells,
      row: comparisonRow(o.varying, o.cells),
      metrics: o.metrics,
    });
    return html`${mixed ? html`<h3>${o.heading}</h3>\n` : ""}${summaryTable(o.cls, [cellColumn, ...specColumns<R>(o.varying), ...o.columns], o.cells)}
<p class="note">${plural(o.cells.length, "cell")}${o.varying.length > 0 ? "; the columns after “cell” are the spec fields that vary between them (hover a header for its path)" : ""}. ${o.note}</p>
${comparisonFigure(chart, o.chartNote)}`;
  };

  const summary = html`${kindPart({
    heading: "Circuit-discovery cells",
    chartTitle: "Circuit discovery across the cells",
    cls: "",
    cells: circuits,
    varying: varyingCircuit,
    columns: circuitColumns(secs),
    metrics: circuitMetrics,
    note: "Faithfulness: (m(C) − m(∅)) / (m(M) − m(∅)) on mean metrics; precision, recall and AUC against the builtin's ground-truth circuit; ρ: Spearman of the scores against exact patching on a sample of edges.",
    chartNote: "Faithfulness, AUC against the ground truth, CPR and circuit size of every cell.",
  })}${kindPart({
    heading: "Causal-abstraction cells",
    chartTitle: "Causal abstraction across the cells",
    cls: "causal",
    cells: causals,
    varying: varyingCausal,
    columns: causalSummaryColumns(secs),
    metrics: causalMetrics,
    note: "IIA / best IIA: the fixed alignment's IIA (iia) or the best cell of the site × position grid (iia-sweep); MIB mean / max: over layers of the per-layer max; controls: DAS's (the random-init model's test IIA, a random rotation, the full component).",
    chartNote: "IIA (DAS: test IIA), MIB mean and DAS's controls of every cell.",
  })}${kindPart({
    heading: "Readout cells",
    chartTitle: "Readouts across the cells",
    cls: "readout",
    cells: readouts,
    varying: varyingReadout,
    columns: readoutSummaryColumns(secs),
    metrics: readoutMetrics(readouts),
    note: "Headline: the one figure that says how each method came out; key figures: the method's own (lens KL, probe accuracy and selectivity, steering metric at max α, SAE L0 / FVU / CE recovered, neuron score, attribution completeness, DLA top component).",
    chartNote: "Each method's headline figure.",
  })}
<p class="note">Each cell also has its own page: cells/&lt;cellId&gt;.html in the results folder.</p>
${missing.length > 0 ? html`<p class="bad">Missing results for ${plural(missing.length, "cell")}: ${missing.join(", ")}</p>` : ""}`;
  const timings = manifest.timings
    ? html`<h2>Timings</h2><table class="timings"><thead><tr><th>phase</th><th class="num">seconds</th></tr></thead><tbody>
${Object.entries(manifest.timings).map(([k, v]) => html`<tr><td>${k}</td><td class="num">${fmt(v, 2)}</td></tr>\n`)}</tbody></table>`
    : html``;
  const sections: Html[] = [];
  for (const [i, r] of ordered.entries()) {
    const varying = varyingOf(r);
    const where = varying.map((k) => `${fieldLabel(k)} = ${compactValue(specAt(r.spec, k))}`).join(" · ");
    sections.push(
      html`<section class="cell" id="${cellAnchor(r.cellId)}">
<h2>Cell ${i + 1}: ${r.method} on ${r.model.name}</h2>
<p class="note">cell ${r.cellId}${where !== "" ? ` · ${where}` : ""} · <a href="../../cells/${encodeURIComponent(r.cellId)}.html">own page</a> · <a href="#top">top</a></p>
${isReadoutResult(r) ? readoutCellBody(r, "h3", { seconds: secs(r) }) : isCausalResult(r) ? causalCellBody(r, "h3", { seconds: secs(r) }) : await circuitCellBody(r, `c${i}-`, "h3")}
</section>`,
    );
  }
  const body = html`<a id="top"></a>
<h2>Summary</h2>
${summary}
${timings}
<h2>Run spec</h2>
<pre class="spec">${prettyJson(manifest.spec)}</pre>
<h2>Cells</h2>
<nav class="toc">${ordered.map((r, i) => html`<a href="#${cellAnchor(r.cellId)}">${i + 1}. ${r.method}</a> `)}</nav>
${sections}`;
  return page(
    `patchbay run ${manifest.runId}`,
    plural(ordered.length, "cell"),
    body,
    (causals.length > 0 || readouts.length > 0 ? CAUSAL_CSS : "") + (readouts.length > 0 ? READOUT_CSS : ""),
  );
};
