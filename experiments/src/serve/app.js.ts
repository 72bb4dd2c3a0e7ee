import { DOM_JS } from "./dom.js.ts";
import { GRAPH_JS } from "./graph.js.ts";
import { PROMPT_JS } from "./prompt.js.ts";

/**
 * The explorer's browser code, served from memory as /assets/app.js (plain ES2020, no framework,
 * no network beyond the server's own API). The token and the cell id come from the page's meta
 * tags; every API call carries the token in x-patchbay-token.
 */
export const APP_JS = String.raw`"use strict";
${GRAPH_JS}
${PROMPT_JS}
const meta = (n) => document.querySelector('meta[name="' + n + '"]').content;
const token = meta("patchbay-token");
const cellId = meta("patchbay-cell");
const api = async (path, body) => {
  const r = await fetch(path, body === undefined
    ? { headers: { "x-patchbay-token": token } }
    : { method: "POST", headers: { "x-patchbay-token": token, "content-type": "application/json" }, body: JSON.stringify(body) });
  const j = await r.json();
  if (!r.ok) throw new Error(j.error || r.statusText);
  return j;
};
${DOM_JS}
const main = document.getElementById("main");

async function listRuns() {
  const { results, runs } = await api("/api/runs");
  main.append(el("h1", {}, "patchbay explorer"), el("p", { class: "muted" }, "results: " + results));
  if (runs.length === 0) main.append(el("p", {}, "No runs in this folder yet (patchbay run FILE --results DIR)."));
  for (const run of runs) {
    const list = el("ul", { class: "cells" });
    for (const c of run.cells) {
      const label = Object.entries(c.varying).map(([k, v]) => k + "=" + JSON.stringify(v)).join(" ") || c.cellId.slice(0, 12);
      const text = label + (c.method ? " · " + c.method : "") + (c.faithfulness !== null ? " · faithfulness " + fmt(c.faithfulness) : "") + (c.edges !== null ? " · " + c.edges + " edges" : "");
      list.append(el("li", {}, c.present && c.kind === "circuit"
        ? el("a", { href: "/cell/" + c.cellId + "?token=" + token, "data-cell": c.cellId }, text)
        : el("span", { class: "muted" }, text + (c.present ? " (" + c.kind + ")" : " (not computed)"))));
    }
    main.append(el("section", { class: "run" }, el("h2", {}, run.name + " — " + run.runId), el("p", { class: "muted" }, run.status + ", " + run.done + "/" + run.total + " cells"), list));
  }
}

async function explore() {
  const [cell, graph] = await Promise.all([api("/api/cells/" + cellId), api("/api/cells/" + cellId + "/graph")]);
  const edges = cell.edges;
  const names = edges.map((e) => e.name);
  const scores = edges.map((e) => e.score ?? 0);
  const stored = edges.map((e) => (e.inGraph ? 1 : 0));
  let inGraph = stored.slice();
  let selected = -1;
  const undo = [], redo = [];
  const removedWithNode = new Map();
  let last = null;
  const status = el("div", { id: "status", role: "status", "aria-live": "polite" }, "…");
  const metric = el("dl", { id: "metric" });
  const explain = el("section", { id: "explain", "aria-label": "explain the selected edge" }, el("p", { class: "muted" }, "Select an edge (click it in the graph or the list) to explain it."));
  const kindOf = (n) => { const m = /<([qkv])>$/.exec(n); return m ? m[1] : n.endsWith("->logits") ? "logits" : /->m\d+$/.test(n) ? "mlp" : "attn"; };
  const describe = (i) => names[i] + (inGraph[i] ? " (in the circuit)" : " (out)") + graph.methods.map((m) => "\n" + m.method + (m.cellId === cellId ? " (this cell)" : "") + ": " + fmt(m.scores[i], 4)).join("");
  const order = edges.map((e, i) => i).sort((a, b) => Math.abs(scores[b]) - Math.abs(scores[a]));
  const rows = el("tbody");
  const filter = el("input", { id: "filter", type: "search", placeholder: "filter edges", "aria-label": "filter edges" });
  const topn = el("input", { id: "topn", type: "number", min: "0", max: String(edges.length), value: String(stored.reduce((a, b) => a + b, 0)), "aria-label": "top-n edges by |score|" });
  const slider = el("input", { id: "threshold", type: "range", min: "0", max: String(edges.length), step: "1", value: String(stored.reduce((a, b) => a + b, 0)), "aria-label": "threshold on |score|: the edges at or above it form the circuit" });
  const sliderText = el("output", { id: "threshold-value", for: "threshold" });
  const sliderShow = () => { const k = Number(slider.value); sliderText.textContent = k === 0 ? "no edges" : "|score| ≥ " + fmt(Math.abs(scores[order[k - 1]]), 4) + " (" + k + " edges)"; };
  const select = (i) => { selected = i; view.update(inGraph, selected); explainShow(); };
  const view = makeGraph(graph.layout, scores, describe, (i) => { select(i); set(i, inGraph[i] ? 0 : 1); }, (node) => {
    const touching = names.map((n, i) => i).filter((i) => names[i].startsWith(node + "->") || names[i].split("->")[1].replace(/<[qkv]>$/, "") === node);
    const next = inGraph.slice();
    const inside = touching.filter((i) => inGraph[i]);
    if (inside.length > 0) { inside.forEach((i) => { next[i] = 0; }); removedWithNode.set(node, inside); }
    else (removedWithNode.get(node) || touching.filter((i) => stored[i])).forEach((i) => { next[i] = 1; });
    commit(next);
  });
  const render = () => {
    const q = filter.value.trim();
    rows.replaceChildren();
    let shown = 0;
    for (const i of order) {
      if (q !== "" && !names[i].includes(q)) continue;
      if (shown++ >= 300) break;
      const box = el("input", { type: "checkbox", id: "e" + i, "data-edge": names[i] });
      box.checked = inGraph[i] === 1;
      box.addEventListener("change", () => { select(i); set(i, box.checked ? 1 : 0); });
      rows.append(el("tr", { class: i === selected ? "selected" : undefined }, el("td", {}, box), el("td", {}, el("label", { for: "e" + i, class: "k-" + kindOf(names[i]) }, names[i])), el("td", { class: "num" }, fmt(edges[i].score, 4))));
    }
    view.update(inGraph, selected);
  };
  const show = (r) => {
    const sorted = [...r.perExample].sort((a, b) => a - b);
    const q = (p) => sorted[Math.min(sorted.length - 1, Math.floor(p * (sorted.length - 1)))];
    const delta = last === null ? null : r.faithfulness - last.faithfulness;
    metric.replaceChildren(
      el("dt", {}, "faithfulness"), el("dd", { id: "faithfulness" }, fmt(r.faithfulness)),
      el("dt", {}, "metric"), el("dd", { id: "metric-value" }, fmt(r.metric, 4) + " (full " + fmt(r.full, 4) + ", empty " + fmt(r.empty, 4) + ")"),
      el("dt", {}, "per example"), el("dd", { id: "spread" }, "min " + fmt(sorted[0]) + " · q25 " + fmt(q(0.25)) + " · median " + fmt(q(0.5)) + " · q75 " + fmt(q(0.75)) + " · max " + fmt(sorted[sorted.length - 1])),
      el("dt", {}, "since last click"), el("dd", { id: "delta" }, delta === null ? "–" : (delta >= 0 ? "+" : "") + fmt(delta)),
      el("dt", {}, "edges"), el("dd", { id: "edge-count" }, r.edges + " of " + edges.length),
      el("dt", {}, "run"), el("dd", {}, fmt(r.ms, 0) + " ms"));
    last = r;
  };
  const explainShow = () => {
    if (selected < 0) return;
    const i = selected;
    const btn = el("button", { id: "explain-run", type: "button" }, "Exact effect and examples");
    const out = el("div", { id: "explain-out" });
    btn.addEventListener("click", async () => {
      out.textContent = "running…";
      try {
        const r = await api("/api/cells/" + cellId + "/explain", { inGraph: inGraph.join(""), edge: names[i] });
        const per = r.withEdge.perExample.map((m, b) => ({ b, d: m - r.withoutEdge.perExample[b] })).sort((a, b) => Math.abs(b.d) - Math.abs(a.d));
        out.replaceChildren(
          el("p", {}, "exact (full model): " + fmt(r.exact, 4) + " · faithfulness with " + fmt(r.withEdge.faithfulness) + ", without " + fmt(r.withoutEdge.faithfulness)),
          el("p", {}, "examples it matters for (metric with − without): " + per.slice(0, 8).map((x) => "#" + x.b + " " + fmt(x.d, 3)).join(", ")));
      } catch (e) { out.textContent = "error: " + e.message; }
    });
    explain.replaceChildren(el("h2", {}, names[i]),
      el("p", {}, (inGraph[i] ? "in the circuit" : "out of the circuit") + " · " + kindOf(names[i]) + " edge"),
      el("ul", {}, ...graph.methods.map((m) => el("li", {}, m.method + (m.cellId === cellId ? " (this cell)" : "") + ": " + fmt(m.scores[i], 4)))),
      btn, out);
  };
  const heads = graph.layout.nodes.filter((n) => n.kind === "head").map((n) => n.name);
  const prompt = makePromptView(cellId, cell.dataset.examples, heads, () => inGraph);
  const evaluate = async () => {
    status.textContent = "evaluating…";
    try {
      show(await api("/api/cells/" + cellId + "/evaluate", { inGraph: inGraph.join("") }));
      status.textContent = "ready";
      prompt.refresh();
      status.dataset.evaluations = String(Number(status.dataset.evaluations || 0) + 1); // tests and the bench wait on it
    } catch (e) {
      status.textContent = "error: " + e.message;
    }
  };
  const commit = (next) => { undo.push(inGraph); redo.length = 0; inGraph = next; render(); explainShow(); return evaluate(); };
  const set = (i, v) => { const next = inGraph.slice(); next[i] = v; return commit(next); };
  const undoBtn = el("button", { id: "undo", type: "button" }, "Undo");
  const redoBtn = el("button", { id: "redo", type: "button" }, "Redo");
  undoBtn.addEventListener("click", () => { if (undo.length) { redo.push(inGraph); inGraph = undo.pop(); render(); evaluate(); } });
  redoBtn.addEventListener("click", () => { if (redo.length) { undo.push(inGraph); inGraph = redo.pop(); render(); evaluate(); } });
  const apply = el("button", { id: "apply-topn", type: "button" }, "Keep top n");
  const topK = (n) => { const next = edges.map(() => 0); order.slice(0, n).forEach((i) => { next[i] = 1; }); return next; };
  apply.addEventListener("click", () => commit(topK(Number(topn.value))));
  slider.addEventListener("input", sliderShow);
  slider.addEventListener("change", () => { topn.value = slider.value; commit(topK(Number(slider.value))); });
  filter.addEventListener("input", render);
  const download = (name, type, text) => { const a = el("a", { href: URL.createObjectURL(new Blob([text], { type })), download: name }); document.body.append(a); a.click(); a.remove(); };
  const svgBtn = el("button", { id: "export-svg", type: "button" }, "SVG");
  svgBtn.addEventListener("click", () => download("circuit.svg", "image/svg+xml", new XMLSerializer().serializeToString(view.svg)));
  const mibBtn = el("button", { id: "export-mib", type: "button" }, "MIB JSON");
  mibBtn.addEventListener("click", async () => {
    try { download("circuit.json", "application/json", JSON.stringify(await api("/api/cells/" + cellId + "/export", { inGraph: inGraph.join("") }), null, 1)); }
    catch (e) { status.textContent = "error: " + e.message; }
  });
  const yamlBtn = el("button", { id: "export-yaml", type: "button" }, "experiment");
  yamlBtn.addEventListener("click", async () => {
    try { download("circuit.yaml", "text/yaml", (await api("/api/cells/" + cellId + "/snippet", { inGraph: inGraph.join("") })).yaml); }
    catch (e) { status.textContent = "error: " + e.message; }
  });
  document.addEventListener("keydown", (e) => {
    if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "z") { e.preventDefault(); (e.shiftKey ? redoBtn : undoBtn).click(); }
  });
  main.append(
    el("p", {}, el("a", { href: "/?token=" + token }, "← all runs")),
    el("h1", {}, cell.method + " on " + cell.model.name),
    el("div", { class: "controls" }, undoBtn, redoBtn, el("label", { for: "threshold" }, "threshold "), slider, sliderText, el("label", { for: "topn" }, "top n "), topn, apply, el("span", { class: "muted" }, "export:"), mibBtn, svgBtn, yamlBtn),
    status,
    el("div", { class: "panes" }, el("div", { class: "graph-pane" }, view.svg), el("div", { class: "side" }, metric, explain)),
    prompt.section,
    filter,
    el("table", { class: "edges" }, el("thead", {}, el("tr", {}, el("th", {}, "in"), el("th", {}, "edge"), el("th", {}, "score"))), rows));
  sliderShow();
  render();
  await evaluate();
}

(cellId === "" ? listRuns() : explore()).catch((e) => { main.append(el("p", { class: "error", role: "alert" }, String(e.message || e))); });
`;
