import { type DestKind, type NodeKind, parseEdge, parseNode } from "../report/graph.ts";

/**
 * The explorer's component graph, laid out by layer from the edge names alone (EAP-IG/MIB names,
 * report/graph.ts reads them): input at the bottom, then per model layer a row of attention nodes
 * (heads, or kv nodes and heads under GQA, or `a{l}` at layer granularity) and above it the MLP,
 * logits on top. Every node is placed, so any edge can be clicked back in. Heads receive q, k
 * and v at three ports on their lower side (left to right); every node sends from its top.
 * Coordinates are SVG user units; the page scales them to fit and pans and zooms.
 */
export interface LaidNode {
  readonly name: string;
  readonly kind: NodeKind;
  readonly layer: number | null;
  readonly x: number;
  readonly y: number;
}

export interface LaidEdge {
  /** index in the cell's edge list (layout order) */
  readonly index: number;
  readonly name: string;
  readonly source: string;
  readonly target: string;
  readonly kind: DestKind;
  /** [x1, y1, x2, y2]: the source's top, the destination's port */
  readonly at: readonly [number, number, number, number];
}

export interface GraphLayout {
  readonly width: number;
  readonly height: number;
  readonly nodes: readonly LaidNode[];
  readonly edges: readonly LaidEdge[];
}

/** Node box and spacing (SVG units). */
export const NODE = { w: 44, h: 18, gapX: 14, rowY: 70 } as const;
const PORT: Record<DestKind, number> = { q: -13, k: 0, v: 13, attn: 0, mlp: 0, logits: 0 };

/** Rows from the bottom: input 0; layer l: attention 2l + 1, MLP 2l + 2; logits last. */
const rowOf = (n: { kind: NodeKind; layer: number | null }, layers: number): number => {
  if (n.kind === "input") return 0;
  if (n.kind === "logits") return 2 * layers + 1;
  return 2 * n.layer! + (n.kind === "mlp" ? 2 : 1);
};

/** Lay out every node named by `edgeNames` (the cell's edges, in layout order). */
export const layoutGraph = (edgeNames: readonly string[]): GraphLayout => {
  const parsed = edgeNames.map(parseEdge);
  const names = new Set<string>();
  for (const e of parsed) {
    names.add(e.source);
    names.add(e.target);
  }
  const nodes = [...names].map(parseNode);
  const layers = 1 + Math.max(0, ...nodes.map((n) => n.layer ?? 0));
  const rows = new Map<number, typeof nodes>();
  for (const n of nodes) {
    const r = rowOf(n, layers);
    rows.set(r, [...(rows.get(r) ?? []), n]);
  }
  // within a row: kv nodes, then heads (by index), then the rest
  const order = (n: (typeof nodes)[number]) =>
    (n.kind === "kv" ? 0 : n.kind === "head" ? 1 : 2) * 1e6 + (n.head ?? 0);
  const widest = Math.max(...[...rows.values()].map((r) => r.length));
  const width = widest * (NODE.w + NODE.gapX) + NODE.gapX;
  const height = (2 * layers + 2) * NODE.rowY;
  const laid = new Map<string, LaidNode>();
  for (const [r, row] of rows) {
    row.sort((a, b) => order(a) - order(b));
    const span = row.length * (NODE.w + NODE.gapX) - NODE.gapX;
    row.forEach((n, i) => {
      const x = (width - span) / 2 + i * (NODE.w + NODE.gapX) + NODE.w / 2;
      laid.set(n.name, { name: n.name, kind: n.kind, layer: n.layer, x, y: height - (r + 0.5) * NODE.rowY });
    });
  }
  const edges = parsed.map((e, index): LaidEdge => {
    const s = laid.get(e.source)!;
    const t = laid.get(e.target)!;
    return {
      index,
      name: e.name,
      source: e.source,
      target: e.target,
      kind: e.kind,
      at: [s.x, s.y - NODE.h / 2, t.x + PORT[e.kind], t.y + NODE.h / 2],
    };
  });
  return { width, height, nodes: [...laid.values()], edges };
};
