import type { ComparisonMetric } from "../../report/comparison.ts";
import { curveSvg, spreadSvg } from "../../report/charts.ts";
import { circuitSvg } from "../../report/graph.ts";
import { card, esc, fmt, fmtScore, type Html, html, prettyJson, raw } from "../../report/html.ts";
import type { SummaryColumn } from "../../report/summary.ts";
import type { CellResult } from "./result.ts";
import { CIRCUIT_COLUMNS } from "./columns.ts";

/**
 * The report of a circuit-discovery cell: cards, the circuit as a graph, the faithfulness curve
 * and spread, the ground truth, the edge scores, the spec; and the run page's summary columns and
 * comparison metrics of circuit cells.
 */

const yesNo = (b: boolean) => (b ? html`<span class="yes">yes</span>` : html`<span class="no">no</span>`);

export const inGraphCount = (r: CellResult) => r.edges.reduce((a, e) => a + (e.inGraph ? 1 : 0), 0);

const scoreTable = (r: CellResult, truth: ReadonlySet<string> | null, top = 50): Html => {
  const scored = r.edges.filter((e) => e.score !== null && Number.isFinite(e.score));
  const zero = scored.filter((e) => e.score === 0 && !e.inGraph).length;
  const ranked = scored
    .filter((e) => e.score !== 0 || e.inGraph)
    .sort((a, b) => Math.abs(b.score!) - Math.abs(a.score!) || a.name.localeCompare(b.name))
    .slice(0, top);
  const unscored = r.edges.length - scored.length;
  const rows = ranked.map(
    (e, i) =>
      html`<tr class="${e.inGraph ? "in" : ""}"><td class="num">${i + 1}</td><td class="name">${e.name}</td><td class="num">${fmtScore(e.score)}</td><td class="num">${fmtScore(Math.abs(e.score!))}</td><td>${yesNo(e.inGraph)}</td>${truth ? html`<td>${yesNo(truth.has(e.name))}</td>` : ""}</tr>`,
  );
  return html`<table class="scores">
<thead><tr><th class="num">#</th><th>edge</th><th class="num">score</th><th class="num sorted">|score|</th><th>in circuit</th>${truth ? html`<th>in truth</th>` : ""}</tr></thead>
<tbody>
${rows.map((x) => html`${x}\n`)}</tbody>
</table>
<p class="note">Top ${ranked.length} of ${r.edges.length} edges by |score| (score = loss increase when the edge is ablated; positive: the edge helps).${zero > 0 ? ` ${zero} edges outside the circuit score exactly 0 and are not listed.` : ""}${unscored > 0 ? ` ${unscored} edges have no score.` : ""}</p>`;
};

const truthSection = (r: CellResult): Html => {
  const t = r.truth;
  if (t === null) return html``;
  const inGraph = new Set(r.edges.filter((e) => e.inGraph).map((e) => e.name));
  const truth = new Set(t.edges);
  const score = new Map(r.edges.map((e) => [e.name, e.score]));
  const extra = [...inGraph].filter((n) => !truth.has(n));
  const rows = [
    ...t.edges.map(
      (n) =>
        html`<tr><td class="name">${n}</td><td>${inGraph.has(n) ? html`<span class="yes">found</span>` : html`<span class="bad">missing</span>`}</td><td class="num">${fmtScore(score.get(n))}</td></tr>`,
    ),
    ...extra.map(
      (n) =>
        html`<tr><td class="name">${n}</td><td><span class="bad">extra</span></td><td class="num">${fmtScore(score.get(n))}</td></tr>`,
    ),
  ];
  const correct = t.edges.filter((n) => inGraph.has(n)).length;
  return html`<h3>Against the ground truth</h3>
<div class="cards">${card("precision", fmt(t.precision))}${card("recall", fmt(t.recall))}${card("ROC AUC", fmt(t.auc))}${card("correct / truth", `${correct} / ${t.edges.length}`)}${card("extra", String(extra.length))}</div>
<table class="truth"><thead><tr><th>edge</th><th>status</th><th class="num">score</th></tr></thead>
<tbody>
${rows.map((x) => html`${x}\n`)}</tbody></table>`;
};

/** The body of one cell's report; `prefix` keeps element ids unique when several share a page. */
export const circuitCellBody = async (
  r: CellResult,
  prefix: string,
  headingLevel: "h2" | "h3",
): Promise<Html> => {
  const g = await circuitSvg(r, { idPrefix: prefix });
  const found = inGraphCount(r);
  const total = r.edges.length;
  const truth = r.truth ? new Set(r.truth.edges) : null;
  const pe = r.faithfulness.perExample;
  const H = (text: string) => raw(`<${headingLevel}>${esc(text)}</${headingLevel}>`);
  const curve = r.curve
    ? html`${H("Faithfulness curve")}
<div class="figure">${raw(curveSvg(r.curve, { fraction: total > 0 ? found / total : 0, faithfulness: r.faithfulness.mean, edges: found }))}</div>
<p class="note">Faithfulness f = (m(C) − m(∅)) / (m(M) − m(∅)) of the top-k circuits over MIB's edge-fraction grid (points: ${r.curve.fractions.length}; circuit sizes ${r.curve.edges.join(", ")} edges). CPR = area under f (higher is better), CMD = area under |1 − f| (0 is best), both over the linear fraction axis; MIB takes CPR from the curve of signed-score circuits and CMD from that of |score| circuits. The diamond is the selected circuit.</p>`
    : html`${H("Faithfulness curve")}<p class="note">No curve: the spec did not ask for one.</p>`;
  return html`<div class="cards">
${card("method", r.method, true)}
${card("model", `${r.model.name} · ${r.model.nLayers}L × ${r.model.nHeads}H`, true)}
${card("edges in circuit", `${found} / ${total}`)}
${card("faithfulness", fmt(r.faithfulness.mean))}
${card(`metric (${r.metric.kind})`, `full ${fmt(r.metric.full)} · empty ${fmt(r.metric.empty)} · circuit ${fmt(r.metric.circuit)}`, true)}
${card("ρ vs exact", fmt(r.spearmanVsExact))}
${r.curve ? html`${card("CPR", fmt(r.curve.cpr))}${card("CMD", fmt(r.curve.cmd))}` : ""}
${r.truth ? card("ROC AUC (truth)", fmt(r.truth.auc)) : ""}
${card("examples", String(r.dataset.examples))}
</div>
${H("Circuit")}
<div class="figure">${raw(g.svg)}</div>
<p class="note">${g.nodes.length} components, ${g.edges} edges (hover an edge for its name and score). Input at the bottom, logits on top; head inputs left to right: q, k, v.${r.artifact ? html` Every edge with its score, as MIB / EAP-IG JSON: <code class="artifact">${r.artifact}</code> (relative to the results store).` : ""}</p>
${curve}
${H("Per-example faithfulness")}
<div class="figure">${raw(spreadSvg(pe, pe.mean))}</div>
<p class="note">Faithfulness on means ${fmt(r.faithfulness.mean)}; per example: mean ${fmt(pe.mean)}, median ${fmt(pe.median)}, IQR ${fmt(pe.q25)} – ${fmt(pe.q75)}, range ${fmt(pe.min)} – ${fmt(pe.max)}.</p>
${truthSection(r)}
${H("Edge scores")}
${scoreTable(r, truth)}
${H("Spec")}
<pre class="spec">${prettyJson(r.spec)}</pre>
<p class="note">cell ${r.cellId} · patchbay ${r.patchbayVersion} · model weights ${r.model.weightsHash} · dataset ${r.dataset.hash} (${r.dataset.examples} examples)</p>`;
};

const CIRCUIT = CIRCUIT_COLUMNS;

export const circuitMetrics: ComparisonMetric<CellResult>[] = [
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

export const circuitColumns = (secs: (r: CellResult) => number | undefined): SummaryColumn<CellResult>[] => {
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
