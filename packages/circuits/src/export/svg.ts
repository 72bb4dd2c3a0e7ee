import type { Circuit } from "../graph/circuit.ts";
import { topology, touchedComponents } from "../graph/topology.ts";
import type { DrawOptions } from "./dot.ts";
import {
  edgeColor,
  KIND_COLORS,
  NEGATIVE_COLOR,
  num,
  POSITIVE_COLOR,
  widthScale,
  xmlEscape,
} from "./style.ts";

const BOX_W = 64;
const BOX_H = 22;
const COL = 76;
const ROW = 64;
const MARGIN = 24;
const LEGEND = 22;
const LEGEND_W = 2 * MARGIN + 5 * 60;

/**
 * A standalone SVG of a circuit, no dependencies. Rows by depth: input at the bottom, then per
 * layer (kv nodes under GQA,) heads or a{l}, and m{l}; logits at the top. Each drawn component
 * is a <g id="node-NAME"> with a <rect> and a <text>; each in-graph edge is one <line> from the
 * top of the writer to the bottom of the reader, with a <title> holding the edge name and score,
 * stroke by kind (q/k/v colours) and width by |score|. Endpoints on a head are offset by kind
 * (q left, k centre, v right) so parallel q/k/v edges stay apart. kv → head links are dashed
 * <path>s, so `<line>` elements are exactly the edges.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { toSvg, topN } from "@patchbay/circuits";
 * import { edgeLayout } from "@patchbay/core/edges";
 * import { inductionModel } from "@patchbay/zoo";
 *
 * const layout = edgeLayout(inductionModel().config);
 * const svg = toSvg(topN(layout, Float64Array.from(layout.edges, (_, i) => i), 3, { absolute: true }));
 * assert.match(svg, /<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
 * assert.match(svg, /id="node-a1.h2"/);
 * ```
 */
export const toSvg = (circuit: Circuit, opts: DrawOptions = {}): string => {
  const { layout, inGraph } = circuit;
  const t = topology(layout);
  const shown = opts.allNodes ? new Uint8Array(t.components.length).fill(1) : touchedComponents(t, inGraph);
  const width = widthScale(circuit, opts.width ?? { min: 0.6, max: 5 });

  // row key: input −1; layer l: kv 3l, attention 3l+1, MLP 3l+2; logits last
  const rowKey = (c: number): number => {
    const comp = t.components[c]!;
    if (comp.kind === "input") return -1;
    if (comp.kind === "logits") return Number.POSITIVE_INFINITY;
    return 3 * comp.layer! + (comp.kind === "kv" ? 0 : comp.kind === "mlp" ? 2 : 1);
  };
  const rows = new Map<number, number[]>();
  for (const c of t.order) if (shown[c]) rows.set(rowKey(c), [...(rows.get(rowKey(c)) ?? []), c]);
  const rowOrder = [...rows.keys()].sort((a, b) => a - b);
  const widest = Math.max(...[...rows.values()].map((r) => r.length));
  // at least as wide as the legend (five entries, 60 px apart), however few nodes a row holds
  const w = Math.max(2 * MARGIN + Math.max(1, widest) * COL, LEGEND_W);
  const h = 2 * MARGIN + LEGEND + (rowOrder.length - 1) * ROW + BOX_H;

  const pos = new Map<number, { x: number; y: number }>();
  rowOrder.forEach((key, r) => {
    const members = rows.get(key)!;
    const y = h - MARGIN - BOX_H / 2 - r * ROW; // centre; row 0 at the bottom
    const x0 = w / 2 - ((members.length - 1) * COL) / 2;
    members.forEach((c, i) => {
      pos.set(c, { x: x0 + i * COL, y });
    });
  });

  const out: string[] = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${num(w)}" height="${num(h)}" viewBox="0 0 ${num(w)} ${num(h)}" font-family="Helvetica, Arial, sans-serif" font-size="10">`,
    `<rect x="0" y="0" width="${num(w)}" height="${num(h)}" fill="#ffffff"/>`,
  ];
  // legend
  const legend: [string, string][] = [
    ["q", KIND_COLORS.q],
    ["k", KIND_COLORS.k],
    ["v", KIND_COLORS.v],
    ["other +", POSITIVE_COLOR],
    ["other −", NEGATIVE_COLOR],
  ];
  out.push('<g class="legend">');
  legend.forEach(([label, color], i) => {
    const x = MARGIN + i * 60;
    out.push(
      `<rect x="${num(x)}" y="${MARGIN - 8}" width="14" height="4" fill="${color}"/>`,
      `<text x="${num(x + 18)}" y="${MARGIN - 4}">${xmlEscape(label)}</text>`,
    );
  });
  out.push("</g>");

  const offset = { q: -BOX_W / 4, k: 0, v: BOX_W / 4 } as Record<string, number>;
  out.push('<g class="edges" fill="none">');
  for (const e of layout.edges) {
    if (!inGraph[e.index]) continue;
    const d = layout.destinations[e.destination]!;
    const a = pos.get(e.source)!;
    const b = pos.get(t.destComponent[e.destination]!)!;
    const score = circuit.scores ? circuit.scores[e.index]! : 0;
    const title = circuit.scores ? `${e.name} ${score}` : e.name;
    out.push(
      `<line class="edge ${d.kind}" x1="${num(a.x)}" y1="${num(a.y - BOX_H / 2)}" x2="${num(b.x + (offset[d.kind] ?? 0))}" y2="${num(b.y + BOX_H / 2)}" stroke="${edgeColor(d.kind, score)}" stroke-width="${num(width(e.index))}" stroke-opacity="0.75"><title>${xmlEscape(title)}</title></line>`,
    );
  }
  for (const [c, p] of pos)
    for (const hd of t.passesTo[c]!) {
      const q = pos.get(hd);
      if (q)
        out.push(
          `<path class="kv-link" d="M ${num(p.x)} ${num(p.y - BOX_H / 2)} L ${num(q.x)} ${num(q.y + BOX_H / 2)}" stroke="#888888" stroke-dasharray="3 2"/>`,
        );
    }
  out.push("</g>", '<g class="nodes">');
  for (const [c, p] of pos) {
    const comp = t.components[c]!;
    const name = xmlEscape(comp.name);
    const fill = comp.kind === "kv" ? "#e8f3ec" : comp.kind === "mlp" ? "#fdf1e4" : "#eef3fa";
    out.push(
      `<g id="node-${name}" class="node ${comp.kind}"><rect x="${num(p.x - BOX_W / 2)}" y="${num(p.y - BOX_H / 2)}" width="${BOX_W}" height="${BOX_H}" rx="5" fill="${fill}" stroke="#555555"/><text x="${num(p.x)}" y="${num(p.y + 3.5)}" text-anchor="middle">${name}</text></g>`,
    );
  }
  out.push("</g>", "</svg>");
  return `${out.join("\n")}\n`;
};
