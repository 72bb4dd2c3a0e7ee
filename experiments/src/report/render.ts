import {
  type AnyCellResult,
  type CausalCellResult,
  type CellResult,
  isCausalResult,
  isReadoutResult,
  type ReadoutCellResult,
} from "../results/types.ts";
import { READOUT_CSS, readoutCellBody, readoutSummaryCells, readoutSummaryHead } from "./readout.ts";
import { CAUSAL_CSS, causalCellBody, causalSummaryCells, causalSummaryHead } from "./causal.ts";
import { curveSvg, spreadSvg } from "./charts.ts";
import { circuitSvg } from "./graph.ts";
import { card, esc, fmt, fmtScore, type Html, html, prettyJson, raw } from "./html.ts";

/**
 * Self-contained HTML reports (no external assets, no scripts; inline CSS and SVG): one page per
 * sweep cell, and one page per run with a summary table of its cells and every cell's section.
 * Circuit-discovery cells, causal-abstraction cells (kind "causal", see causal.ts) and readout
 * cells (kind "readout", see readout.ts) each get their own section layout and summary table.
 */

/** What the report reads from a run's manifest.json (the store writes more). */
export interface RunManifest {
  readonly runId: string;
  readonly spec: unknown;
  /** the run's cell ids, in sweep order */
  readonly cells: readonly string[];
  /** phase / cell → seconds */
  readonly timings?: Readonly<Record<string, number>>;
  /** cell id → seconds it took (the run store's `timings.cells[id].seconds`) */
  readonly cellSeconds?: Readonly<Record<string, number>>;
}

const CSS = `
:root { color-scheme: light; }
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1d232b; margin: 0; background: #f4f6f9; line-height: 1.4; }
main { max-width: 1180px; margin: 0 auto; padding: 20px 28px 60px; }
header.page { background: #1f2d3d; color: #fff; padding: 18px 28px; }
header.page h1 { margin: 0; font-size: 22px; font-weight: 600; }
header.page .sub { color: #b8c6d6; font-size: 13px; margin-top: 4px; word-break: break-all; }
h2 { font-size: 18px; margin: 30px 0 10px; border-bottom: 2px solid #d8dee6; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 22px 0 8px; color: #33414f; }
section.cell { background: #fff; border: 1px solid #dde3ea; border-radius: 8px; padding: 4px 22px 22px; margin: 22px 0; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 14px 0; }
.card { background: #fff; border: 1px solid #dde3ea; border-radius: 6px; padding: 8px 12px; min-width: 120px; }
.card .k { font-size: 11px; color: #66717d; text-transform: uppercase; letter-spacing: .04em; }
.card .v { font-size: 17px; font-weight: 600; margin-top: 2px; }
.card .v.small { font-size: 13px; font-weight: 500; }
.figure { background: #fff; border: 1px solid #e3e7ee; border-radius: 6px; padding: 8px; overflow-x: auto; display: inline-block; max-width: 100%; box-sizing: border-box; }
.figure svg { display: block; }
.row { display: flex; flex-wrap: wrap; gap: 18px; align-items: flex-start; }
table { border-collapse: collapse; font-size: 13px; background: #fff; }
th, td { border: 1px solid #dde3ea; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #eef2f6; font-weight: 600; white-space: nowrap; }
th.spec { white-space: normal; max-width: 160px; background: #e9eef7; }
td.spec { max-width: 220px; }
.scroll { overflow-x: auto; max-width: 100%; }
th.sorted::after { content: " \\25BC"; font-size: 9px; color: #667; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.name { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; white-space: nowrap; }
tr:nth-child(even) td { background: #fafbfc; }
tr.in td { background: #eef6ee; }
.yes { color: #1a7f37; font-weight: 600; }
.no { color: #a0a7af; }
.bad { color: #c0143c; font-weight: 600; }
pre { background: #1f2430; color: #e6e6e6; padding: 12px 14px; border-radius: 6px; overflow-x: auto; font-size: 12px; max-height: 480px; }
.swatch { display: inline-block; width: 18px; height: 4px; vertical-align: middle; margin-right: 4px; }
.note { color: #5b6671; font-size: 12.5px; }
a { color: #0b5cad; }
nav.toc { font-size: 13px; }
`;

const page = (title: string, subtitle: string, body: Html, extraCss = ""): string =>
  `<!DOCTYPE html>\n${
    html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>${raw(CSS + extraCss)}</style>
</head>
<body>
<header class="page"><h1>${title}</h1><div class="sub">${subtitle}</div></header>
<main>
${body}
</main>
</body>
</html>
`.value
  }`;

const yesNo = (b: boolean) => (b ? html`<span class="yes">yes</span>` : html`<span class="no">no</span>`);

const inGraphCount = (r: CellResult) => r.edges.reduce((a, e) => a + (e.inGraph ? 1 : 0), 0);

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
const cellBody = async (r: CellResult, prefix: string, headingLevel: "h2" | "h3"): Promise<Html> => {
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
<p class="note">${g.nodes.length} components, ${g.edges} edges (hover an edge for its name and score). Input at the bottom, logits on top; head inputs left to right: q, k, v.</p>
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

/** A cell's own page: a circuit-discovery cell or a causal one (by `kind`). */
export const renderCellReport = async (
  result: AnyCellResult,
  opts: { readonly seconds?: number } = {},
): Promise<string> =>
  isReadoutResult(result)
    ? page(
        `patchbay cell: ${result.method} on ${result.model.name}`,
        `cell ${result.cellId}`,
        readoutCellBody(result, "h2", opts),
        CAUSAL_CSS + READOUT_CSS,
      )
    : isCausalResult(result)
      ? page(
          `patchbay cell: ${result.method} on ${result.model.name}`,
          `cell ${result.cellId}`,
          causalCellBody(result, "h2", opts),
          CAUSAL_CSS,
        )
      : page(
          `patchbay cell: ${result.method} on ${result.model.name}`,
          `cell ${result.cellId}`,
          await cellBody(result, "", "h2"),
        );

/** Leaf values of a spec by dotted path (arrays are leaves), as JSON text. */
export const flattenSpec = (v: unknown, path = "", out = new Map<string, string>()): Map<string, string> => {
  if (v !== null && typeof v === "object" && !Array.isArray(v)) {
    const entries = Object.entries(v as Record<string, unknown>);
    if (entries.length === 0 && path !== "") out.set(path, "{}");
    for (const [k, x] of entries) flattenSpec(x, path === "" ? k : `${path}.${k}`, out);
  } else out.set(path === "" ? "(spec)" : path, JSON.stringify(v) ?? "undefined");
  return out;
};

/**
 * The spec fields whose values differ between cells (missing counts as a value), as paths of at
 * most `depth` segments: `discovery.method` rather than each of its leaves.
 */
export const varyingFields = (specs: readonly unknown[], depth = 2): string[] => {
  const flat = specs.map((s) => flattenSpec(s));
  const keys = [...new Set(flat.flatMap((f) => [...f.keys()]))];
  const leaves = keys.filter((k) => new Set(flat.map((f) => f.get(k) ?? "—")).size > 1);
  return [...new Set(leaves.map((k) => k.split(".").slice(0, depth).join(".")))];
};

/** The value at a dotted path of a spec. */
export const specAt = (spec: unknown, path: string): unknown => {
  if (path === "(spec)") return spec;
  let v: unknown = spec;
  for (const k of path.split(".")) {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
};

/** A spec value in a few words: tagged objects as `tag k=v …`, others as JSON. */
export const compactValue = (v: unknown): string => {
  if (v === undefined) return "—";
  if (typeof v === "string") return v;
  if (v !== null && typeof v === "object" && !Array.isArray(v)) {
    const { _tag, ...rest } = v as Record<string, unknown>;
    const fields = Object.entries(rest).map(([k, x]) => `${k}=${compactValue(x)}`);
    return typeof _tag === "string" ? [_tag, ...fields].join(" ") : `{${fields.join(", ")}}`;
  }
  return JSON.stringify(v) ?? String(v);
};

const short = (s: string, max = 48) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);

const cellAnchor = (id: string) => `cell-${id}`;

/** A cell's seconds from the manifest: `cellSeconds[id]`, else a numeric `timings[id]`. */
const secondsOf = (manifest: RunManifest, id: string): number | undefined =>
  manifest.cellSeconds?.[id] ?? manifest.timings?.[id];

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
  const value = (r: AnyCellResult, k: string) => compactValue(specAt(r.spec, k));
  const specHead = (varying: readonly string[]) =>
    varying.map((k) => html`<th class="spec">${raw(k.split(".").map(esc).join(".<wbr>"))}</th>`);
  const specCells = (r: AnyCellResult, varying: readonly string[]) =>
    varying.map((k) => html`<td class="spec" title="${value(r, k)}">${short(value(r, k))}</td>`);
  const cellLink = (r: AnyCellResult) =>
    html`<td class="name"><a href="#${cellAnchor(r.cellId)}">${r.cellId.slice(0, 12)}</a></td>`;
  const anyCurve = circuits.some((r) => r.curve !== null);
  const anyTruth = circuits.some((r) => r.truth !== null);
  const summaryRows = circuits.map((r) => {
    const pe = r.faithfulness.perExample;
    return html`<tr>${cellLink(r)}${specCells(r, varyingCircuit)}<td>${r.method}</td><td>${r.model.name}</td><td class="num">${inGraphCount(r)} / ${r.edges.length}</td><td class="num">${fmt(r.faithfulness.mean)}</td><td class="num">${fmt(pe.median)}</td><td class="num">${fmt(pe.min, 2)} – ${fmt(pe.max, 2)}</td>${anyCurve ? html`<td class="num">${fmt(r.curve?.cpr)}</td><td class="num">${fmt(r.curve?.cmd)}</td>` : ""}${anyTruth ? html`<td class="num">${fmt(r.truth?.precision)}</td><td class="num">${fmt(r.truth?.recall)}</td><td class="num">${fmt(r.truth?.auc)}</td>` : ""}<td class="num">${fmt(r.spearmanVsExact)}</td></tr>`;
  });
  const circuitSummary =
    circuits.length === 0
      ? html``
      : html`${
          mixed
            ? html`<h3>Circuit-discovery cells</h3>
`
            : ""
        }<div class="scroll"><table class="summary">
<thead><tr><th>cell</th>${specHead(varyingCircuit)}<th>method</th><th>model</th><th class="num">edges</th><th class="num">faithfulness</th><th class="num">median f</th><th class="num">f range</th>${anyCurve ? html`<th class="num">CPR</th><th class="num">CMD</th>` : ""}${anyTruth ? html`<th class="num">precision</th><th class="num">recall</th><th class="num">AUC</th>` : ""}<th class="num">ρ exact</th></tr></thead>
<tbody>
${summaryRows.map((x) => html`${x}\n`)}</tbody></table></div>
<p class="note">${circuits.length} cells${varyingCircuit.length > 0 ? `; columns after "cell" are the spec fields that vary between cells` : ""}. Each cell also has its own page: cells/&lt;cellId&gt;.html in the results folder.</p>
`;
  const anySeconds = causals.some((r) => secondsOf(manifest, r.cellId) !== undefined);
  const causalSummary =
    causals.length === 0
      ? html``
      : html`${mixed ? html`<h3>Causal-abstraction cells</h3>\n` : ""}<div class="scroll"><table class="summary causal">
<thead><tr><th>cell</th>${specHead(varyingCausal)}${causalSummaryHead(anySeconds)}</tr></thead>
<tbody>
${causals.map((r: CausalCellResult) => html`<tr>${cellLink(r)}${specCells(r, varyingCausal)}${causalSummaryCells(r, secondsOf(manifest, r.cellId), anySeconds)}</tr>\n`)}</tbody></table></div>
<p class="note">${causals.length} causal cells${varyingCausal.length > 0 ? `; columns after "cell" are the spec fields that vary between them` : ""}. IIA / best IIA: the fixed alignment's IIA (iia) or the best cell of the site × position grid (iia-sweep); MIB mean / max: over layers of the per-layer max; ctl: DAS's controls (the random-init model's test IIA, a random rotation, the full component).${circuits.length === 0 ? " Each cell also has its own page: cells/&lt;cellId&gt;.html in the results folder." : ""}</p>
`;
  const anyReadoutSeconds = readouts.some((r) => secondsOf(manifest, r.cellId) !== undefined);
  const readoutSummary =
    readouts.length === 0
      ? html``
      : html`${mixed ? html`<h3>Readout cells</h3>\n` : ""}<div class="scroll"><table class="summary readout">
<thead><tr><th>cell</th>${specHead(varyingReadout)}${readoutSummaryHead(anyReadoutSeconds)}</tr></thead>
<tbody>
${readouts.map((r: ReadoutCellResult) => html`<tr>${cellLink(r)}${specCells(r, varyingReadout)}${readoutSummaryCells(r, secondsOf(manifest, r.cellId), anyReadoutSeconds)}</tr>\n`)}</tbody></table></div>
<p class="note">${readouts.length} readout cells${varyingReadout.length > 0 ? `; columns after "cell" are the spec fields that vary between them` : ""}. Headline: the one figure that says how each method came out; key figures: the method's own (lens KL, probe accuracy and selectivity, steering metric at max α, SAE L0 / FVU / CE recovered, neuron score, attribution completeness, DLA top component).</p>
`;
  const summary = html`${circuitSummary}${causalSummary}${readoutSummary}${missing.length > 0 ? html`<p class="bad">Missing results for ${missing.length} cells: ${missing.join(", ")}</p>` : ""}`;
  const timings = manifest.timings
    ? html`<h2>Timings</h2><table class="timings"><thead><tr><th>phase</th><th class="num">seconds</th></tr></thead><tbody>
${Object.entries(manifest.timings).map(([k, v]) => html`<tr><td>${k}</td><td class="num">${fmt(v, 2)}</td></tr>\n`)}</tbody></table>`
    : html``;
  const sections: Html[] = [];
  for (const [i, r] of ordered.entries()) {
    const varying = varyingOf(r);
    sections.push(
      html`<section class="cell" id="${cellAnchor(r.cellId)}">
<h2>Cell ${i + 1}: ${r.method} on ${r.model.name}</h2>
<p class="note">cell ${r.cellId}${varying.length > 0 ? ` · ${varying.map((k) => `${k} = ${value(r, k)}`).join(" · ")}` : ""} · <a href="../../cells/${encodeURIComponent(r.cellId)}.html">own page</a> · <a href="#top">top</a></p>
${isReadoutResult(r) ? readoutCellBody(r, "h3", { seconds: secondsOf(manifest, r.cellId) }) : isCausalResult(r) ? causalCellBody(r, "h3", { seconds: secondsOf(manifest, r.cellId) }) : await cellBody(r, `c${i}-`, "h3")}
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
    `${ordered.length} cells`,
    body,
    (causals.length > 0 || readouts.length > 0 ? CAUSAL_CSS : "") + (readouts.length > 0 ? READOUT_CSS : ""),
  );
};
