/**
 * The explorer's component graph in the browser (part of /assets/app.js): an SVG drawn from the
 * server's layout (layout.ts), edges as straight lines from a source's top to a destination's
 * q/k/v port, coloured by destination kind and sized by |score|; each with a wide transparent
 * twin to click. Edges in the circuit are solid; edges out of it are drawn dashed and faint when
 * they are among the strongest (so they can be clicked back in), hidden otherwise. Wheel zooms
 * around the pointer, dragging pans, and with the graph focused + / − zoom and the arrows pan.
 * Nodes are focusable buttons: Enter or a click takes all their edges out, or puts them back.
 */
export const GRAPH_JS = String.raw`
const SVG_NS = "http://www.w3.org/2000/svg";
const svgEl = (tag, attrs) => {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  return e;
};
const KIND_CLASS = { q: "q", k: "k", v: "v", attn: "attn", mlp: "mlp", logits: "logits" };
/** Out-of-circuit edges drawn (the strongest by |score|) so they can be clicked back in. */
const SHOWN_OUTSIDE = 400;

function makeGraph(layout, scores, describe, onEdge, onNode) {
  const svg = svgEl("svg", { id: "graph", role: "group", tabindex: "0", "aria-label": "component graph: input at the bottom, logits on top; + and − zoom, arrows pan", viewBox: "0 0 " + layout.width + " " + layout.height });
  const view = { x: 0, y: 0, w: layout.width, h: layout.height };
  const setView = () => svg.setAttribute("viewBox", view.x + " " + view.y + " " + view.w + " " + view.h);
  const zoom = (f, cx, cy) => { view.x = cx - (cx - view.x) * f; view.y = cy - (cy - view.y) * f; view.w *= f; view.h *= f; setView(); };
  svg.addEventListener("wheel", (e) => {
    e.preventDefault();
    const r = svg.getBoundingClientRect();
    zoom(e.deltaY > 0 ? 1.15 : 1 / 1.15, view.x + ((e.clientX - r.left) / r.width) * view.w, view.y + ((e.clientY - r.top) / r.height) * view.h);
  }, { passive: false });
  let drag = null;
  svg.addEventListener("pointerdown", (e) => { if (e.target === svg) drag = { x: e.clientX, y: e.clientY }; });
  window.addEventListener("pointerup", () => { drag = null; });
  svg.addEventListener("pointermove", (e) => {
    if (drag === null) return;
    const r = svg.getBoundingClientRect();
    view.x -= ((e.clientX - drag.x) / r.width) * view.w; view.y -= ((e.clientY - drag.y) / r.height) * view.h;
    drag = { x: e.clientX, y: e.clientY }; setView();
  });
  svg.addEventListener("keydown", (e) => {
    const step = 0.1;
    const keys = { "+": () => zoom(1 / 1.2, view.x + view.w / 2, view.y + view.h / 2), "=": () => zoom(1 / 1.2, view.x + view.w / 2, view.y + view.h / 2), "-": () => zoom(1.2, view.x + view.w / 2, view.y + view.h / 2),
      ArrowLeft: () => { view.x -= step * view.w; setView(); }, ArrowRight: () => { view.x += step * view.w; setView(); }, ArrowUp: () => { view.y -= step * view.h; setView(); }, ArrowDown: () => { view.y += step * view.h; setView(); } };
    if (e.target === svg && keys[e.key]) { e.preventDefault(); keys[e.key](); }
  });
  const maxAbs = Math.max(1e-12, ...scores.map((s) => Math.abs(s || 0)));
  const edgeLayer = svgEl("g", { class: "edges" });
  const nodeLayer = svgEl("g", { class: "nodes" });
  svg.append(edgeLayer, nodeLayer);
  const strongest = scores.map((s, i) => i).sort((a, b) => Math.abs(scores[b] || 0) - Math.abs(scores[a] || 0)).slice(0, SHOWN_OUTSIDE);
  const candidates = new Set(strongest);
  const lines = new Map();
  const draw = (i) => {
    const e = layout.edges[i];
    const g = svgEl("g", { class: "edge k-" + KIND_CLASS[e.kind], "data-edge": e.name });
    const [x1, y1, x2, y2] = e.at;
    const line = svgEl("line", { x1, y1, x2, y2, class: "stroke", "stroke-width": (0.8 + (4 * Math.abs(scores[i] || 0)) / maxAbs).toFixed(2) });
    const hit = svgEl("line", { x1, y1, x2, y2, class: "hit", "data-edge": e.name });
    const title = svgEl("title");
    title.textContent = describe(i);
    hit.append(title);
    hit.addEventListener("click", () => onEdge(i));
    g.append(line, hit);
    edgeLayer.append(g);
    lines.set(i, g);
  };
  for (const n of layout.nodes) {
    const g = svgEl("g", { class: "node n-" + n.kind, tabindex: "0", role: "button", "data-node": n.name, "aria-label": n.name + ": take its edges out or put them back" });
    g.append(svgEl("rect", { x: n.x - 22, y: n.y - 9, width: 44, height: 18, rx: 4 }));
    const t = svgEl("text", { x: n.x, y: n.y + 4, "text-anchor": "middle" });
    t.textContent = n.name;
    g.append(t);
    g.addEventListener("click", () => onNode(n.name));
    g.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); onNode(n.name); } });
    nodeLayer.append(g);
  }
  /** Show the circuit: in-graph edges solid, strong outsiders dashed, the rest hidden. */
  const update = (inGraph, selected) => {
    for (let i = 0; i < layout.edges.length; i++) {
      const show = inGraph[i] === 1 || candidates.has(i) || i === selected;
      if (show && !lines.has(i)) draw(i);
      const g = lines.get(i);
      if (g === undefined) continue;
      g.style.display = show ? "" : "none";
      g.classList.toggle("out", inGraph[i] !== 1);
      g.classList.toggle("selected", i === selected);
    }
    // z-order: edges in the circuit above the others, the selected one on top (clicks reach them)
    for (const [i, g] of lines) if (inGraph[i] === 1 && i !== selected) edgeLayer.append(g);
    if (lines.has(selected)) edgeLayer.append(lines.get(selected));
  };
  return { svg, update, reset: () => { Object.assign(view, { x: 0, y: 0, w: layout.width, h: layout.height }); setView(); } };
}
`;
