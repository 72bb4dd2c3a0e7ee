import type { CellResult } from "../../kinds/index.ts";

/**
 * What the report tests share: synthetic circuit cells over a small MIB layout, and a small HTML
 * reader (balanced tags, elements by class, table rows, attributes unescaped).
 */
/** Every edge of a small head-level layout (MIB names), GQA when nKv < nHeads. */
export const layoutEdges = (nLayers: number, nHeads: number, nKv = nHeads): string[] => {
  const out: string[] = [];
  const upstream: string[] = ["input"];
  for (let l = 0; l < nLayers; l++) {
    for (let h = 0; h < nHeads; h++) for (const u of upstream) out.push(`${u}->a${l}.h${h}<q>`);
    for (let j = 0; j < nKv; j++)
      for (const kind of ["k", "v"])
        for (const u of upstream) out.push(`${u}->a${l}.${nKv < nHeads ? "kv" : "h"}${j}<${kind}>`);
    for (let h = 0; h < nHeads; h++) upstream.push(`a${l}.h${h}`);
    for (const u of upstream) out.push(`${u}->m${l}`);
    upstream.push(`m${l}`);
  }
  for (const u of upstream) out.push(`${u}->logits`);
  return out;
};

export const syntheticCell = (o: {
  spec?: unknown;
  method?: string;
  inGraph: readonly string[];
  nKv?: number;
  cellId?: string;
}): CellResult => {
  const names = layoutEdges(2, 4, o.nKv ?? 4);
  const keep = new Set(o.inGraph);
  for (const n of keep) if (!names.includes(n)) throw new Error(`not in layout: ${n}`);
  return {
    patchbayVersion: "0.1.0",
    cellId: o.cellId ?? "c0ffee0123456789",
    spec: o.spec ?? { method: "eap" },
    model: { name: "synthetic", weightsHash: "abc", nLayers: 2, nHeads: 4 },
    dataset: { hash: "def", examples: 8 },
    method: o.method ?? "eap",
    edges: names.map((name, i) => ({
      name,
      score: i % 7 === 3 ? null : (keep.has(name) ? 2 : 0.1) * Math.sin(i + 1),
      inGraph: keep.has(name),
    })),
    metric: { kind: "logit-diff", full: 3.2, empty: 0.1, circuit: 3.0 },
    faithfulness: {
      mean: 0.93,
      perExample: { mean: 0.9, median: 0.95, q25: 0.8, q75: 1.05, min: -0.2, max: 1.4 },
    },
    curve: {
      fractions: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1],
      edges: [0, 0, 0, 1, 2, 6, 13, 27, 68, 137],
      faithfulness: [0, 0, 0, 0.2, 0.4, 0.9, 0.95, 1.02, 1, 1],
      cpr: 0.97,
      cmd: 0.03,
    },
    spearmanVsExact: 0.8,
    truth: { precision: 0.75, recall: 1, auc: 0.99, edges: o.inGraph.slice(0, 2) },
    artifact: null,
  };
};

export const VOID = new Set(["meta", "br", "wbr", "hr", "img", "input", "link"]);

/** Tags balance like a tree: every opened element (not void, not self-closed) is closed in order. */
export const checkBalanced = (doc: string): string[] => {
  const stack: string[] = [];
  const problems: string[] = [];
  const body = doc.replace(/<!DOCTYPE[^>]*>/i, "").replace(/<style>[\s\S]*?<\/style>/, "<style></style>");
  for (const m of body.matchAll(/<(\/?)([a-zA-Z][\w-]*)([^<>]*?)(\/?)>/g)) {
    const [, close, tag, , self] = m;
    const t = tag!.toLowerCase();
    if (self === "/" || VOID.has(t)) continue;
    if (close === "") stack.push(t);
    else if (stack.pop() !== t) problems.push(`</${t}> at ${m.index} closes the wrong element`);
  }
  if (stack.length > 0) problems.push(`unclosed: ${stack.join(" > ")}`);
  // no stray angle brackets in text: every '<' starts a tag
  for (const m of body.matchAll(/<(?![/a-zA-Z!])/g)) problems.push(`stray '<' at ${m.index}`);
  return problems;
};

export const circuit = [
  "input->a0.h1<q>",
  "a0.h1->a1.h2<k>",
  "input->a1.h2<v>",
  "a1.h2->logits",
  "a0.h1->m0",
  "m0->logits",
];

/** Attributes of a start tag, values unescaped. */
export const attrs = (tag: string): Record<string, string> =>
  Object.fromEntries([...tag.matchAll(/([\w:-]+)="([^"]*)"/g)].map((m) => [m[1]!, unesc(m[2]!)]));

export const unesc = (s: string) =>
  s
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, "&");

export const hasClass = (a: Record<string, string>, c: string) => (a.class ?? "").split(/\s+/).includes(c);

/** Elements `<name …>inner</name>` (no nesting of the same name) whose class list holds `cls`. */
export const elements = (doc: string, name: string, cls: string) =>
  [...doc.matchAll(new RegExp(`<${name}\\b([^>]*?)(?:/>|>([\\s\\S]*?)</${name}>)`, "g"))]
    .map((m) => ({ attrs: attrs(m[1]!), inner: m[2] ?? "" }))
    .filter((e) => hasClass(e.attrs, cls));

/** Text of an element without its child tags (a <title> child is dropped with its text). */
export const textOf = (inner: string) =>
  unesc(inner.replace(/<title>[\s\S]*?<\/title>/g, "").replace(/<[^>]+>/g, ""));

export const titleOf = (inner: string) => unesc(/<title>([\s\S]*?)<\/title>/.exec(inner)?.[1] ?? "");

/** Rows of a table (by class) as arrays of cell texts, body only. */
export const tableRows = (doc: string, cls: string): { attrs: Record<string, string>; cells: string[] }[] => {
  const table = elements(doc, "table", cls)[0];
  if (!table) return [];
  const body = /<tbody>([\s\S]*?)<\/tbody>/.exec(table.inner)?.[1] ?? "";
  return [...body.matchAll(/<tr\b([^>]*)>([\s\S]*?)<\/tr>/g)].map((m) => ({
    attrs: attrs(m[1]!),
    cells: [...m[2]!.matchAll(/<td\b[^>]*>([\s\S]*?)<\/td>/g)].map((c) => textOf(c[1]!)),
  }));
};

/** The data-col keys of a table's header cells. */
export const headKeys = (doc: string, cls: string): string[] => {
  const table = elements(doc, "table", cls)[0];
  const head = /<thead>([\s\S]*?)<\/thead>/.exec(table?.inner ?? "")?.[1] ?? "";
  return [...head.matchAll(/<th\b([^>]*)>/g)].map((m) => attrs(m[1]!)["data-col"] ?? "");
};

export const headCells = (doc: string, cls: string): string[] => {
  const table = elements(doc, "table", cls)[0];
  const head = /<thead>([\s\S]*?)<\/thead>/.exec(table?.inner ?? "")?.[1] ?? "";
  return [...head.matchAll(/<th\b[^>]*>([\s\S]*?)<\/th>/g)].map((m) => textOf(m[1]!));
};
