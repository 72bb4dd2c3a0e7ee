import { kindOfResult, KINDS } from "../kinds/index.ts";
import type { AnyCellResult } from "../kinds/index.ts";
import { comparisonSvg } from "./comparison.ts";
import { fmt, type Html, html, prettyJson, raw } from "./html.ts";
import { page } from "./page.ts";
import type { RunManifest } from "./render.ts";
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
  // the cells of each kind, in the kinds' order; the spec fields that vary, within each kind
  const parts = KINDS.map((kind) => {
    const cells = ordered.filter((r) => kindOfResult(r) === kind);
    return { kind, cells, varying: varyingFields(cells.map((r) => r.spec)).slice(0, 8) };
  }).filter((p) => p.cells.length > 0);
  const mixed = parts.length > 1;
  const varyingOf = (r: AnyCellResult) => parts.find((p) => p.kind === kindOfResult(r))?.varying ?? [];
  const secs = (r: AnyCellResult) => secondsOf(manifest, r.cellId);

  const kindPart = (o: (typeof parts)[number]): Html => {
    const report = o.kind.report;
    const chart = comparisonSvg({
      title: report.chartTitle,
      rows: o.cells,
      row: comparisonRow(o.varying, o.cells),
      metrics: report.metrics(o.cells),
    });
    return html`${mixed ? html`<h3>${report.heading}</h3>\n` : ""}${summaryTable(report.cls, [cellColumn, ...specColumns(o.varying), ...report.columns(secs)], o.cells)}
<p class="note">${plural(o.cells.length, "cell")}${o.varying.length > 0 ? "; the columns after “cell” are the spec fields that vary between them (hover a header for its path)" : ""}. ${report.note}</p>
${comparisonFigure(chart, report.chartNote)}`;
  };

  const summary = html`${parts.map(kindPart)}
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
${await kindOfResult(r).report.body(r, { headingLevel: "h3", idPrefix: `c${i}-`, seconds: secs(r) })}
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
    [...new Set(parts.flatMap((p) => p.kind.report.css))].join(""),
  );
};
