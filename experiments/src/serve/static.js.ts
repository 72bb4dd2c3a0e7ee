import { DOM_JS } from "./dom.js.ts";
import { GRAPH_JS } from "./graph.js.ts";

/**
 * The static explorer's page code (`patchbay report --interactive`): no server, opened from disk.
 * onnxruntime-web (WASM, one thread, no worker) runs the cell's edge-masked graph from the page's
 * own data (window.PB_CELL: the ONNX bytes and every input but the mask, base64), so a click
 * rebuilds the mask and recomputes the metric in the browser:
 *   mask[b, u, v] = 1 if the edge u→v is in the circuit    (edges.mask, [N, S, D])
 *   f(C) = (m(C) − m(∅)) / (m(M) − m(∅))   with m(M), m(∅) run here too (all ones, all zeros).
 * Every asset is a classic script (file:// pages cannot fetch or import modules): the WASM binary
 * and ORT's loader are handed to ORT from memory (env.wasm.wasmBinary, a blob URL for the loader).
 */
export const STATIC_JS = `"use strict";
${GRAPH_JS}
${DOM_JS}
// base64 → bytes by a loop into one buffer (Uint8Array.from over the string first makes an array of
// one-character strings: for a graph of 200 MiB that crashed the page)
const b64 = (s) => {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
};
const main = document.getElementById("main");

(async () => {
  const cell = window.PB_CELL;
  const status = el("div", { id: "status", role: "status", "aria-live": "polite" }, "loading the model…");
  main.append(el("h1", {}, cell.method + " on " + cell.model), status);
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  ort.env.wasm.wasmBinary = b64(window.PB_ORT_WASM).buffer;
  ort.env.wasm.wasmPaths = { mjs: URL.createObjectURL(new Blob([window.PB_ORT_LOADER], { type: "text/javascript" })) };
  const onnx = b64(cell.onnx);
  cell.onnx = null; // the base64 text is not needed again
  const session = await ort.InferenceSession.create(onnx);
  const fixed = {};
  for (const [name, f] of Object.entries(cell.feeds)) {
    const bytes = b64(f.data);
    const data = f.type === "float32" ? new Float32Array(bytes.buffer) : f.type === "int64" ? new BigInt64Array(bytes.buffer) : bytes;
    fixed[name] = new ort.Tensor(f.type, data, f.dims);
  }
  const E = cell.edges.length, N = cell.N, SD = cell.S * cell.D;
  const run = async (inGraph) => {
    const mask = new Float32Array(N * SD);
    for (let b = 0; b < N; b++) for (let e = 0; e < E; e++) if (inGraph[e]) mask[b * SD + cell.edgeIndex[e]] = 1;
    const out = await session.run({ ...fixed, [cell.maskInput]: new ort.Tensor("float32", mask, [N, cell.S, cell.D]) });
    const per = Array.from(out[cell.metricOutput].data);
    return { per, mean: per.reduce((a, x) => a + x, 0) / per.length };
  };
  const full = await run(cell.edges.map(() => 1));
  const empty = await run(cell.edges.map(() => 0));
  const names = cell.edges.map((e) => e.name);
  const scores = cell.edges.map((e) => e.score ?? 0);
  let inGraph = cell.edges.map((e) => (e.inGraph ? 1 : 0));
  const undo = [], redo = [];
  let last = null;
  const metric = el("dl", { id: "metric" });
  const rows = el("tbody");
  const order = names.map((n, i) => i).sort((a, b) => Math.abs(scores[b]) - Math.abs(scores[a]));
  const view = makeGraph(cell.layout, scores, (i) => names[i] + ": " + fmt(scores[i], 4), (i) => set(i, inGraph[i] ? 0 : 1), (node) => {
    const touching = names.map((n, i) => i).filter((i) => names[i].startsWith(node + "->") || names[i].split("->")[1].replace(/<[qkv]>$/, "") === node);
    const next = inGraph.slice();
    const on = touching.some((i) => inGraph[i]) ? 0 : 1;
    touching.forEach((i) => { next[i] = on; });
    commit(next);
  });
  const render = () => {
    rows.replaceChildren();
    for (const i of order.slice(0, 300)) {
      const box = el("input", { type: "checkbox", id: "e" + i, "data-edge": names[i] });
      box.checked = inGraph[i] === 1;
      box.addEventListener("change", () => set(i, box.checked ? 1 : 0));
      rows.append(el("tr", {}, el("td", {}, box), el("td", {}, el("label", { for: "e" + i }, names[i])), el("td", { class: "num" }, fmt(scores[i], 4))));
    }
    view.update(inGraph, -1);
  };
  const evaluate = async () => {
    status.textContent = "evaluating…";
    const t0 = performance.now();
    const r = await run(inGraph);
    const f = (r.mean - empty.mean) / (full.mean - empty.mean);
    const perF = r.per.map((m, b) => (m - empty.per[b]) / (full.per[b] - empty.per[b])).sort((a, b) => a - b);
    const delta = last === null ? null : f - last;
    metric.replaceChildren(
      el("dt", {}, "faithfulness"), el("dd", { id: "faithfulness" }, fmt(f)),
      el("dt", {}, "metric"), el("dd", { id: "metric-value" }, fmt(r.mean, 4) + " (full " + fmt(full.mean, 4) + ", empty " + fmt(empty.mean, 4) + ")"),
      el("dt", {}, "per example"), el("dd", {}, "min " + fmt(perF[0]) + " · median " + fmt(perF[Math.floor((perF.length - 1) / 2)]) + " · max " + fmt(perF[perF.length - 1])),
      el("dt", {}, "since last click"), el("dd", { id: "delta" }, delta === null ? "–" : (delta >= 0 ? "+" : "") + fmt(delta)),
      el("dt", {}, "edges"), el("dd", {}, inGraph.reduce((a, x) => a + x, 0) + " of " + E),
      el("dt", {}, "run (in this page)"), el("dd", {}, fmt(performance.now() - t0, 0) + " ms"));
    last = f;
    status.textContent = "ready";
    status.dataset.faithfulness = String(f); // full precision, for tests
    status.dataset.metric = String(r.mean);
    status.dataset.evaluations = String(Number(status.dataset.evaluations || 0) + 1);
  };
  const commit = (next) => { undo.push(inGraph); redo.length = 0; inGraph = next; render(); return evaluate(); };
  const set = (i, v) => { const next = inGraph.slice(); next[i] = v; return commit(next); };
  const undoBtn = el("button", { id: "undo", type: "button" }, "Undo");
  const redoBtn = el("button", { id: "redo", type: "button" }, "Redo");
  undoBtn.addEventListener("click", () => { if (undo.length) { redo.push(inGraph); inGraph = undo.pop(); render(); evaluate(); } });
  redoBtn.addEventListener("click", () => { if (redo.length) { undo.push(inGraph); inGraph = redo.pop(); render(); evaluate(); } });
  document.addEventListener("keydown", (e) => {
    if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "z") { e.preventDefault(); (e.shiftKey ? redoBtn : undoBtn).click(); }
  });
  main.append(el("div", { class: "controls" }, undoBtn, redoBtn, el("span", { class: "muted" }, "static explorer: the metric is computed in this page (onnxruntime-web)")),
    el("div", { class: "panes" }, el("div", { class: "graph-pane" }, view.svg), el("div", { class: "side" }, metric)),
    el("table", { class: "edges" }, el("thead", {}, el("tr", {}, el("th", {}, "in"), el("th", {}, "edge"), el("th", {}, "score"))), rows));
  render();
  await evaluate();
})().catch((e) => { main.append(el("p", { class: "error", role: "alert" }, "error: " + (e && e.message ? e.message : String(e)))); });
`;
