import ElkModule, {
  type ELK,
  type ElkExtendedEdge,
  type ElkNode,
  type ElkPort,
} from "elkjs/lib/elk.bundled.js";
import { esc, fmtScore, n2 } from "./html.ts";

/**
 * The circuit of a CellResult as a layered graph in inline SVG, laid out by elkjs (layered
 * algorithm, direction up: input at the bottom, logits on top). The graph is rebuilt from the
 * edge names alone (EAP-IG/MIB: `a0.h1->a1.h2<k>`, `m3->logits`, `a1.kv0<v>` under GQA, `a0` and
 * `m0` at layer granularity), so a report needs nothing but the result file.
 *
 * Rows: ELK partitions force the order input < (per model layer: kv nodes < heads < MLP) <
 * logits, so each model layer is a band of up to three ELK layers. Only nodes touched by
 * in-graph edges are drawn, plus input and logits. Heads receive their q, k and v edges at three
 * fixed ports on their lower side (left to right); every node sends from one port on top.
 * Each in-graph edge is one `<path class="edge">` with a `<title>` (name and score), stroke width
 * linear in |score| and colour by destination kind; kv → head links of grouped attention are
 * `<path class="kv-link">`, so `path.edge` elements are exactly the circuit's edges.
 */

export type NodeKind = "input" | "head" | "attn" | "kv" | "mlp" | "logits";
export type DestKind = "q" | "k" | "v" | "attn" | "mlp" | "logits";

export interface ParsedNode {
  readonly name: string;
  readonly kind: NodeKind;
  readonly layer: number | null;
  /** query head, or kv head for kv nodes */
  readonly head: number | null;
}

export interface ParsedEdge {
  readonly name: string;
  readonly source: string;
  readonly target: string;
  readonly kind: DestKind;
}

export const parseNode = (name: string): ParsedNode => {
  if (name === "input" || name === "logits") return { name, kind: name, layer: null, head: null };
  let m = /^a(\d+)\.h(\d+)$/.exec(name);
  if (m) return { name, kind: "head", layer: Number(m[1]), head: Number(m[2]) };
  m = /^a(\d+)\.kv(\d+)$/.exec(name);
  if (m) return { name, kind: "kv", layer: Number(m[1]), head: Number(m[2]) };
  m = /^a(\d+)$/.exec(name);
  if (m) return { name, kind: "attn", layer: Number(m[1]), head: null };
  m = /^m(\d+)$/.exec(name);
  if (m) return { name, kind: "mlp", layer: Number(m[1]), head: null };
  throw new RangeError(`report: cannot read the component name ${JSON.stringify(name)}`);
};

export const parseEdge = (name: string): ParsedEdge => {
  const arrow = name.indexOf("->");
  if (arrow < 0) throw new RangeError(`report: edge name ${JSON.stringify(name)} has no "->"`);
  const source = name.slice(0, arrow);
  const dest = name.slice(arrow + 2);
  const qkv = /^(.*)<([qkv])>$/.exec(dest);
  if (qkv) return { name, source, target: qkv[1]!, kind: qkv[2] as "q" | "k" | "v" };
  const t = parseNode(dest);
  const kind: DestKind = t.kind === "logits" ? "logits" : t.kind === "mlp" ? "mlp" : "attn";
  return { name, source, target: dest, kind };
};

/** Okabe–Ito: q blue, k green, v vermillion, MLP orange, logits reddish purple, attn sky blue. */
export const DEST_COLORS: Record<DestKind, string> = {
  q: "#0072B2",
  k: "#009E73",
  v: "#D55E00",
  mlp: "#E69F00",
  logits: "#CC79A7",
  attn: "#56B4E9",
};

const NODE_FILL: Record<NodeKind, string> = {
  input: "#eeeeee",
  head: "#eef3fa",
  attn: "#eef3fa",
  kv: "#e8f3ec",
  mlp: "#fdf1e4",
  logits: "#f6e8f0",
};

const rank = (n: ParsedNode, nLayers: number): number =>
  n.kind === "input"
    ? 0
    : n.kind === "logits"
      ? 3 * Math.max(nLayers, n.layer ?? 0) + 1
      : 1 + 3 * n.layer! + (n.kind === "kv" ? 0 : n.kind === "mlp" ? 2 : 1);

const BOX_H = 26;
const boxWidth = (name: string) => Math.max(56, 8 * name.length + 16);
const PORT = 2;
/** head input ports, left to right, as fractions of the box width */
const PORT_X: Partial<Record<string, number>> = { q: 0.25, k: 0.5, v: 0.75 };

export interface CircuitSvgOptions {
  /** prefix for element ids (several circuits in one page) */
  readonly idPrefix?: string;
  /** stroke width range over |score|, default 1 … 7 */
  readonly width?: { readonly min: number; readonly max: number };
}

export interface CircuitSvg {
  readonly svg: string;
  readonly nodes: readonly string[];
  readonly edges: number;
  readonly width: number;
  readonly height: number;
}

/**
 * elkjs is CommonJS: Node's ESM default import is its module.exports, the class, which also carries
 * itself as `.default`. TypeScript's NodeNext typing (the build) and Bundler typing (the source
 * check) disagree on which of the two the default import is, so take the class from either.
 */
type ElkClass = new () => ELK;
const ElkConstructor = ((ElkModule as unknown as { default?: ElkClass }).default ??
  ElkModule) as unknown as ElkClass;

let elk: ELK | null = null;

/** What the graph draws of a circuit cell: the model's shape and every edge of the layout. */
export interface CircuitEdges {
  readonly model: { readonly nLayers: number; readonly nHeads: number };
  readonly edges: readonly {
    readonly name: string;
    readonly score: number | null;
    readonly inGraph: boolean;
  }[];
}

/** The in-graph edges of a result laid out by ELK and drawn as one `<svg>` element. */
export const circuitSvg = async (result: CircuitEdges, opts: CircuitSvgOptions = {}): Promise<CircuitSvg> => {
  const prefix = opts.idPrefix ?? "";
  const wr = opts.width ?? { min: 1, max: 7 };
  const nLayers = result.model.nLayers;
  const kept = result.edges.filter((e) => e.inGraph).map((e) => ({ ...parseEdge(e.name), score: e.score }));

  // kv groups under GQA: G = nHeads / (number of kv heads in the layout)
  const allKv = new Set<number>();
  for (const e of result.edges) {
    const p = parseEdge(e.name);
    const t = parseNode(p.target);
    if (t.kind === "kv") allKv.add(t.head!);
  }
  const group = allKv.size > 0 ? Math.max(1, Math.round(result.model.nHeads / allKv.size)) : 1;

  const names = new Set<string>(["input", "logits"]);
  for (const e of kept) names.add(e.source).add(e.target);
  const nodes = [...names].map(parseNode);
  const ranks = [...new Set(nodes.map((n) => rank(n, nLayers)))].sort((a, b) => a - b);
  const partition = new Map(ranks.map((r, i) => [r, i]));
  nodes.sort(
    (a, b) =>
      rank(a, nLayers) - rank(b, nLayers) || (a.head ?? 0) - (b.head ?? 0) || a.name.localeCompare(b.name),
  );

  const kvLinks: { kv: string; head: string }[] = [];
  for (const kv of nodes)
    if (kv.kind === "kv")
      for (const h of nodes)
        if (h.kind === "head" && h.layer === kv.layer && Math.floor(h.head! / group) === kv.head)
          kvLinks.push({ kv: kv.name, head: h.name });

  type PortKind = "q" | "k" | "v" | "in" | "out";
  const inPorts = (n: ParsedNode): PortKind[] =>
    n.kind === "head" ? ["q", "k", "v"] : n.kind === "kv" ? ["k", "v"] : n.kind === "input" ? [] : ["in"];
  const portId = (node: string, kind: PortKind) => `${node}::${kind}`;
  const children: ElkNode[] = nodes.map((n) => {
    const w = boxWidth(n.name);
    const ports: ElkPort[] = [];
    if (n.kind !== "logits")
      ports.push({
        id: portId(n.name, "out"),
        width: PORT,
        height: PORT,
        x: w / 2 - PORT / 2,
        y: -PORT,
        layoutOptions: { "elk.port.side": "NORTH" },
      });
    for (const k of inPorts(n)) {
      const frac = n.kind === "kv" ? (k === "k" ? 1 / 3 : 2 / 3) : (PORT_X[k] ?? 0.5);
      ports.push({
        id: portId(n.name, k),
        width: PORT,
        height: PORT,
        x: w * frac - PORT / 2,
        y: BOX_H,
        layoutOptions: { "elk.port.side": "SOUTH" },
      });
    }
    return {
      id: n.name,
      width: w,
      height: BOX_H,
      ports,
      layoutOptions: {
        "elk.portConstraints": "FIXED_POS",
        "elk.partitioning.partition": String(partition.get(rank(n, nLayers))!),
      },
    };
  });
  const inPortOf = (target: ParsedNode, kind: DestKind): PortKind =>
    (target.kind === "head" || target.kind === "kv") && (kind === "q" || kind === "k" || kind === "v")
      ? kind
      : "in";
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const edges: ElkExtendedEdge[] = [
    ...kept.map((e, i) => ({
      id: `e${i}`,
      sources: [portId(e.source, "out")],
      targets: [portId(e.target, inPortOf(byName.get(e.target)!, e.kind))],
    })),
    ...kvLinks.map((l, i) => ({
      id: `kv${i}`,
      sources: [portId(l.kv, "out")],
      targets: [portId(l.head, "k")],
    })),
  ];
  const LEFT = 78;
  elk ??= new ElkConstructor();
  const graph: ElkNode = {
    id: "root",
    layoutOptions: {
      "elk.algorithm": "layered",
      "elk.direction": "UP",
      "elk.partitioning.activate": "true",
      "elk.separateConnectedComponents": "false",
      "elk.edgeRouting": "POLYLINE",
      "elk.spacing.nodeNode": "28",
      "elk.layered.spacing.nodeNodeBetweenLayers": "46",
      "elk.layered.spacing.edgeNodeBetweenLayers": "14",
      "elk.spacing.edgeEdge": "6",
      "elk.layered.nodePlacement.strategy": "NETWORK_SIMPLEX",
      "elk.layered.considerModelOrder.strategy": "NODES_AND_EDGES",
      "elk.padding": `[top=34,left=${LEFT},bottom=16,right=24]`,
    },
    children,
    edges,
  };
  const laid = await elk.layout(graph);

  const pos = new Map<string, { x: number; y: number; w: number; h: number }>();
  for (const c of laid.children ?? [])
    pos.set(c.id, { x: c.x ?? 0, y: c.y ?? 0, w: c.width ?? 0, h: c.height ?? 0 });
  const legend: [string, DestKind][] = [
    ["q", "q"],
    ["k", "k"],
    ["v", "v"],
    ["mlp", "mlp"],
    ["logits", "logits"],
  ];
  if (kept.some((e) => e.kind === "attn")) legend.push(["attn", "attn"]);
  // legend positions from generous text widths (7.2 px per character at 11 px covers DejaVu Sans,
  // wider than the Helvetica / Liberation Sans asked for), so no font pushes it past the edge
  const CHAR = 7.2;
  const legendX: number[] = [];
  let legendEnd = 12;
  for (const [label] of legend) {
    legendX.push(legendEnd);
    legendEnd += 22 + CHAR * label.length + 10;
  }
  const negX = legendEnd;
  const widthX = negX + 22 + CHAR * "score < 0".length + 14;
  const legendWidth = widthX + CHAR * "width ∝ |score|".length + 12;
  const laidW = laid.width ?? 0;
  const W = Math.max(laidW, legendWidth, 360);
  const H = laid.height ?? 0;
  /** the drawing is centred when the legend is wider than the layout */
  const dx = Math.max(0, (W - laidW) / 2);

  let top = 0;
  for (const e of kept)
    if (e.score !== null && Number.isFinite(e.score)) top = Math.max(top, Math.abs(e.score));
  const strokeWidth = (s: number | null) =>
    s === null || !Number.isFinite(s) || top === 0
      ? wr.min
      : wr.min + ((wr.max - wr.min) * Math.abs(s)) / top;

  const pathOf = (e: ElkExtendedEdge): string => {
    const pts = (e.sections ?? []).flatMap((s) => [s.startPoint, ...(s.bendPoints ?? []), s.endPoint]);
    return pts.map((p, i) => `${i === 0 ? "M" : "L"} ${n2(p.x)} ${n2(p.y)}`).join(" ");
  };
  const laidEdges = new Map((laid.edges ?? []).map((e) => [e.id, e]));

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="circuit" width="${n2(W)}" height="${n2(H)}" viewBox="0 0 ${n2(W)} ${n2(H)}" role="img" aria-label="circuit graph" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect x="0" y="0" width="${n2(W)}" height="${n2(H)}" fill="#ffffff"/>`,
  );
  // model-layer bands
  out.push('<g class="bands">');
  const layers = [...new Set(nodes.filter((n) => n.layer !== null).map((n) => n.layer!))].sort(
    (a, b) => a - b,
  );
  layers.forEach((l, i) => {
    const members = nodes.filter((n) => n.layer === l).map((n) => pos.get(n.name)!);
    const y0 = Math.min(...members.map((p) => p.y)) - 8;
    const y1 = Math.max(...members.map((p) => p.y + p.h)) + 8;
    out.push(
      `<rect class="band" x="4" y="${n2(y0)}" width="${n2(W - 8)}" height="${n2(y1 - y0)}" rx="6" fill="${i % 2 === 0 ? "#f7f9fc" : "#fbfaf5"}" stroke="#e3e7ee"/>`,
      `<text class="band-label" x="12" y="${n2((y0 + y1) / 2 + 4)}" fill="#667" font-weight="bold">layer ${l}</text>`,
    );
  });
  out.push("</g>");
  // legend
  out.push('<g class="legend" font-size="11">');
  legend.forEach(([label, kind], i) => {
    const lx = legendX[i]!;
    out.push(
      `<line x1="${n2(lx)}" y1="14" x2="${n2(lx + 18)}" y2="14" stroke="${DEST_COLORS[kind]}" stroke-width="4"/>`,
      `<text x="${n2(lx + 22)}" y="18">${esc(label)}</text>`,
    );
  });
  out.push(
    `<line x1="${n2(negX)}" y1="14" x2="${n2(negX + 18)}" y2="14" stroke="#555" stroke-width="2" stroke-dasharray="5 3"/>`,
    `<text x="${n2(negX + 22)}" y="18">score &lt; 0</text>`,
    `<text x="${n2(widthX)}" y="18" fill="#666">width ∝ |score|</text>`,
  );
  out.push("</g>");

  out.push(
    `<g class="drawing" transform="translate(${n2(dx)} 0)">`,
    '<g class="edges" fill="none" stroke-linecap="round" stroke-linejoin="round">',
  );
  kvLinks.forEach((l, i) => {
    const e = laidEdges.get(`kv${i}`);
    if (e)
      out.push(
        `<path class="kv-link" d="${pathOf(e)}" stroke="#888888" stroke-width="1.2" stroke-dasharray="3 2"><title>${esc(`${l.kv} feeds ${l.head} (k, v)`)}</title></path>`,
      );
  });
  // widest first, so thin edges stay visible on top
  const order = kept
    .map((_, i) => i)
    .sort((a, b) => strokeWidth(kept[b]!.score) - strokeWidth(kept[a]!.score));
  for (const i of order) {
    const e = kept[i]!;
    const laidE = laidEdges.get(`e${i}`)!;
    const neg = e.score !== null && e.score < 0;
    const w = strokeWidth(e.score);
    out.push(
      `<path class="edge ${e.kind}" data-edge="${esc(e.name)}" d="${pathOf(laidE)}" stroke="${DEST_COLORS[e.kind]}" stroke-width="${n2(w)}" stroke-opacity="0.8"${neg ? ` stroke-dasharray="${n2(2 * w + 4)} ${n2(w + 3)}" stroke-linecap="butt"` : ""}><title>${esc(`${e.name}  score ${fmtScore(e.score)}`)}</title></path>`,
    );
  }
  out.push("</g>", '<g class="nodes">');
  for (const n of nodes) {
    const p = pos.get(n.name)!;
    const name = esc(n.name);
    out.push(
      `<g class="node ${n.kind}" id="${esc(prefix)}node-${name}" data-node="${name}"><title>${name}</title><rect x="${n2(p.x)}" y="${n2(p.y)}" width="${n2(p.w)}" height="${n2(p.h)}" rx="6" fill="${NODE_FILL[n.kind]}" stroke="#556"/><text x="${n2(p.x + p.w / 2)}" y="${n2(p.y + p.h / 2 + 4)}" text-anchor="middle">${name}</text></g>`,
    );
  }
  out.push("</g>", "</g>", "</svg>");
  return { svg: out.join("\n"), nodes: nodes.map((n) => n.name), edges: kept.length, width: W, height: H };
};
