/**
 * The explorer's browser code, served from memory as /assets/app.js (plain ES2020, no framework,
 * no network beyond the server's own API). The token and the cell id come from the page's meta
 * tags; every API call carries the token in x-patchbay-token.
 */
export const APP_JS = String.raw`"use strict";
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
const el = (tag, attrs, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) e.setAttribute(k, v);
  for (const k of kids) e.append(k);
  return e;
};
const fmt = (x, d = 3) => (x === null || x === undefined || !Number.isFinite(x) ? "–" : x.toFixed(d));
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
  const cell = await api("/api/cells/" + cellId);
  const edges = cell.edges;
  const names = edges.map((e) => e.name);
  let inGraph = edges.map((e) => (e.inGraph ? 1 : 0));
  const undo = [], redo = [];
  let last = null;
  const status = el("div", { id: "status", role: "status", "aria-live": "polite" }, "…");
  const metric = el("dl", { id: "metric" });
  const kindOf = (n) => { const m = /<([qkv])>$/.exec(n); return m ? m[1] : n.endsWith("->logits") ? "logits" : /->m\d+$/.test(n) ? "mlp" : "other"; };
  const rows = el("tbody");
  const filter = el("input", { id: "filter", type: "search", placeholder: "filter edges", "aria-label": "filter edges" });
  const topn = el("input", { id: "topn", type: "number", min: "0", max: String(edges.length), value: String(inGraph.reduce((a, b) => a + b, 0)), "aria-label": "top-n edges by |score|" });
  const order = edges.map((e, i) => i).sort((a, b) => Math.abs(edges[b].score ?? 0) - Math.abs(edges[a].score ?? 0));
  const render = () => {
    const q = filter.value.trim();
    rows.replaceChildren();
    let shown = 0;
    for (const i of order) {
      if (q !== "" && !names[i].includes(q)) continue;
      if (shown++ >= 300) break;
      const box = el("input", { type: "checkbox", id: "e" + i, "data-edge": names[i] });
      box.checked = inGraph[i] === 1;
      box.addEventListener("change", () => set(i, box.checked ? 1 : 0));
      rows.append(el("tr", {}, el("td", {}, box), el("td", {}, el("label", { for: "e" + i, class: "k-" + kindOf(names[i]) }, names[i])), el("td", { class: "num" }, fmt(edges[i].score, 4))));
    }
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
  const evaluate = async () => {
    status.textContent = "evaluating…";
    try {
      show(await api("/api/cells/" + cellId + "/evaluate", { inGraph: inGraph.join("") }));
      status.textContent = "ready";
    } catch (e) {
      status.textContent = "error: " + e.message;
    }
  };
  const commit = (next) => { undo.push(inGraph); redo.length = 0; inGraph = next; render(); return evaluate(); };
  const set = (i, v) => { const next = inGraph.slice(); next[i] = v; return commit(next); };
  const undoBtn = el("button", { id: "undo", type: "button" }, "Undo");
  const redoBtn = el("button", { id: "redo", type: "button" }, "Redo");
  undoBtn.addEventListener("click", () => { if (undo.length) { redo.push(inGraph); inGraph = undo.pop(); render(); evaluate(); } });
  redoBtn.addEventListener("click", () => { if (redo.length) { undo.push(inGraph); inGraph = redo.pop(); render(); evaluate(); } });
  const apply = el("button", { id: "apply-topn", type: "button" }, "Keep top n");
  apply.addEventListener("click", () => { const n = Number(topn.value); const next = edges.map(() => 0); order.slice(0, n).forEach((i) => { next[i] = 1; }); commit(next); });
  filter.addEventListener("input", render);
  document.addEventListener("keydown", (e) => {
    if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "z") { e.preventDefault(); (e.shiftKey ? redoBtn : undoBtn).click(); }
  });
  main.append(
    el("p", {}, el("a", { href: "/?token=" + token }, "← all runs")),
    el("h1", {}, cell.method + " on " + cell.model.name),
    el("div", { class: "controls" }, undoBtn, redoBtn, el("label", { for: "topn" }, "top n "), topn, apply, filter),
    status, metric,
    el("table", { class: "edges" }, el("thead", {}, el("tr", {}, el("th", {}, "in"), el("th", {}, "edge"), el("th", {}, "score"))), rows));
  render();
  await evaluate();
}

(cellId === "" ? listRuns() : explore()).catch((e) => { main.append(el("p", { class: "error", role: "alert" }, String(e.message || e))); });
`;
