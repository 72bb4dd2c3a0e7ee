import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import type { CausalCellResult, CellResult } from "../results/types.ts";
import {
  CONTROL_MARGIN,
  causalCells,
  causalDasCell,
  causalIiaCell,
  causalSweepCell,
  circuitSvg,
  heatmapSvg,
  IIA_SCALE,
  iiaColor,
  iiaGridOf,
  parseEdge,
  renderCellReport,
  renderRunReport,
  resolveRun,
  varyingFields,
  writeReport,
} from "./index.ts";

/** Every edge of a small head-level layout (MIB names), GQA when nKv < nHeads. */
const layoutEdges = (nLayers: number, nHeads: number, nKv = nHeads): string[] => {
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

const syntheticCell = (o: {
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

const VOID = new Set(["meta", "br", "wbr", "hr", "img", "input", "link"]);

/** Tags balance like a tree: every opened element (not void, not self-closed) is closed in order. */
const checkBalanced = (doc: string): string[] => {
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

const circuit = [
  "input->a0.h1<q>",
  "a0.h1->a1.h2<k>",
  "input->a1.h2<v>",
  "a1.h2->logits",
  "a0.h1->m0",
  "m0->logits",
];

describe("HTML report", () => {
  it("parses MIB edge names, GQA and layer granularity", () => {
    expect(parseEdge("a0.h1->a1.h2<k>")).toMatchObject({ source: "a0.h1", target: "a1.h2", kind: "k" });
    expect(parseEdge("a0.h1->a1.kv0<v>")).toMatchObject({ target: "a1.kv0", kind: "v" });
    expect(parseEdge("m3->logits")).toMatchObject({ source: "m3", target: "logits", kind: "logits" });
    expect(parseEdge("a0->a1")).toMatchObject({ target: "a1", kind: "attn" });
    expect(parseEdge("input->m0")).toMatchObject({ kind: "mlp" });
    expect(() => parseEdge("nonsense")).toThrow(/->/);
  });

  it("a cell page is well formed and every main element is closed", async () => {
    const page = await renderCellReport(syntheticCell({ inGraph: circuit }));
    expect(checkBalanced(page)).toEqual([]);
    for (const tag of [
      "html",
      "head",
      "body",
      "main",
      "table",
      "tr",
      "td",
      "svg",
      "g",
      "pre",
      "div",
      "text",
    ]) {
      const open = page.match(new RegExp(`<${tag}[\\s>]`, "g"))?.length ?? 0;
      const close = page.match(new RegExp(`</${tag}>`, "g"))?.length ?? 0;
      expect(close, tag).toBe(open);
    }
    expect(page).not.toMatch(/<(link|script|img)\b/); // self-contained, no script
    expect(page).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/); // no external assets
    expect(page.match(/<path class="edge /g)).toHaveLength(circuit.length);
  });

  it("escapes text: a spec string with <script> appears escaped", async () => {
    const evil = "</pre><script>alert(1)</script> & <b>";
    const r = syntheticCell({ inGraph: circuit, spec: { note: evil }, method: "<i>eap</i>" });
    for (const page of [
      await renderCellReport(r),
      await renderRunReport({ runId: "<run>", spec: { evil }, cells: [r.cellId] }, [r]),
    ]) {
      expect(page).not.toContain("<script");
      expect(page).not.toContain("<i>eap");
      expect(page).toContain("&lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;");
      expect(checkBalanced(page)).toEqual([]);
    }
  });

  it("draws only touched nodes plus input and logits, and kv links under GQA", async () => {
    const g = await circuitSvg(syntheticCell({ inGraph: circuit }));
    expect([...g.nodes].sort()).toEqual(["a0.h1", "a1.h2", "input", "logits", "m0"]);
    expect(g.edges).toBe(circuit.length);
    const empty = await circuitSvg(syntheticCell({ inGraph: [] }));
    expect([...empty.nodes].sort()).toEqual(["input", "logits"]);
    const gqa = ["input->a0.h1<q>", "a0.h1->a1.kv1<k>", "input->a1.h2<q>", "a1.h2->logits", "a1.h3->logits"];
    const gg = await circuitSvg(syntheticCell({ inGraph: gqa, nKv: 2 }));
    expect(gg.nodes).toContain("a1.kv1");
    // kv1 feeds heads 2 and 3 (G = 2); both are drawn
    expect(gg.svg.match(/class="kv-link"/g)).toHaveLength(2);
    expect(gg.svg.match(/<path class="edge /g)).toHaveLength(gqa.length);
  });

  it("a run page has a summary row and a section per cell, with the varying fields", async () => {
    const a = syntheticCell({ inGraph: circuit, cellId: "aaaa", spec: { method: "eap", n: 8 } });
    const b = syntheticCell({
      inGraph: circuit.slice(0, 4),
      cellId: "bbbb",
      spec: { method: "acdc", n: 8 },
      method: "acdc",
    });
    expect(varyingFields([a.spec, b.spec])).toEqual(["method"]);
    const page = await renderRunReport(
      { runId: "r1", spec: {}, cells: ["aaaa", "bbbb", "cccc"], timings: { total: 3 } },
      [a, b],
    );
    expect(checkBalanced(page)).toEqual([]);
    expect(page).toContain('href="#cell-aaaa"');
    expect(page).toContain('<section class="cell" id="cell-bbbb">');
    expect(page).toContain("Missing results for 1 cell: cccc");
    // the summary: what every cell shares is said once, the varying field is a column
    expect(headCells(page, "summary")).toEqual(["cell", "method", "edges in circuit"]);
    expect(tableRows(page, "summary").map((r) => r.cells[1])).toEqual(["eap", "acdc"]);
    expect(page).toMatch(/In every cell: .*model <b>synthetic<\/b>/);
    // the comparison chart: one mark per cell in each panel
    const chart = elements(page, "svg", "comparison")[0]!;
    expect(chart.attrs["data-rows"]).toBe("2");
    for (const metric of ["faithfulness", "auc", "cpr", "edges"])
      expect([
        ...chart.inner.matchAll(new RegExp(`class="mark"[^>]*data-metric="${metric}"`, "g")),
      ]).toHaveLength(2);
    // ids stay unique across cells
    const ids = [...page.matchAll(/ id="([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("writeReport writes the run page and one page per cell from the results layout", async () => {
    const dir = mkdtempSync(join(tmpdir(), "patchbay-report-"));
    mkdirSync(join(dir, "cells"));
    mkdirSync(join(dir, "runs", "r1"), { recursive: true });
    const a = syntheticCell({ inGraph: circuit, cellId: "aaaa" });
    writeFileSync(join(dir, "cells", "aaaa.json"), JSON.stringify(a));
    writeFileSync(
      join(dir, "runs", "r1", "manifest.json"),
      JSON.stringify({ runId: "r1", spec: { x: 1 }, cells: ["aaaa"] }),
    );
    const paths = await Effect.runPromise(writeReport(dir, "r1"));
    expect(paths.run).toBe(join(dir, "runs", "r1", "report.html"));
    expect(paths.cells).toEqual([join(dir, "cells", "aaaa.html")]);
    expect(readFileSync(paths.run, "utf8")).toContain("patchbay run r1");
    expect(resolveRun(join(dir, "runs", "r1"), undefined)).toEqual({ resultsDir: dir, runId: "r1" });
    expect(resolveRun("r1", dir)).toEqual({ resultsDir: dir, runId: "r1" });
    const missing = await Effect.runPromise(Effect.flip(writeReport(dir, "nope")));
    expect(missing._tag).toBe("InputError");
    expect(missing.message).toContain("manifest.json");
  });
});

/** Attributes of a start tag, values unescaped. */
const attrs = (tag: string): Record<string, string> =>
  Object.fromEntries([...tag.matchAll(/([\w:-]+)="([^"]*)"/g)].map((m) => [m[1]!, unesc(m[2]!)]));

const unesc = (s: string) =>
  s
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, "&");

const hasClass = (a: Record<string, string>, c: string) => (a.class ?? "").split(/\s+/).includes(c);

/** Elements `<name …>inner</name>` (no nesting of the same name) whose class list holds `cls`. */
const elements = (doc: string, name: string, cls: string) =>
  [...doc.matchAll(new RegExp(`<${name}\\b([^>]*?)(?:/>|>([\\s\\S]*?)</${name}>)`, "g"))]
    .map((m) => ({ attrs: attrs(m[1]!), inner: m[2] ?? "" }))
    .filter((e) => hasClass(e.attrs, cls));

/** Text of an element without its child tags (a <title> child is dropped with its text). */
const textOf = (inner: string) =>
  unesc(inner.replace(/<title>[\s\S]*?<\/title>/g, "").replace(/<[^>]+>/g, ""));

const titleOf = (inner: string) => unesc(/<title>([\s\S]*?)<\/title>/.exec(inner)?.[1] ?? "");

/** Rows of a table (by class) as arrays of cell texts, body only. */
const tableRows = (doc: string, cls: string): { attrs: Record<string, string>; cells: string[] }[] => {
  const table = elements(doc, "table", cls)[0];
  if (!table) return [];
  const body = /<tbody>([\s\S]*?)<\/tbody>/.exec(table.inner)?.[1] ?? "";
  return [...body.matchAll(/<tr\b([^>]*)>([\s\S]*?)<\/tr>/g)].map((m) => ({
    attrs: attrs(m[1]!),
    cells: [...m[2]!.matchAll(/<td\b[^>]*>([\s\S]*?)<\/td>/g)].map((c) => textOf(c[1]!)),
  }));
};

/** The data-col keys of a table's header cells. */
const headKeys = (doc: string, cls: string): string[] => {
  const table = elements(doc, "table", cls)[0];
  const head = /<thead>([\s\S]*?)<\/thead>/.exec(table?.inner ?? "")?.[1] ?? "";
  return [...head.matchAll(/<th\b([^>]*)>/g)].map((m) => attrs(m[1]!)["data-col"] ?? "");
};

const headCells = (doc: string, cls: string): string[] => {
  const table = elements(doc, "table", cls)[0];
  const head = /<thead>([\s\S]*?)<\/thead>/.exec(table?.inner ?? "")?.[1] ?? "";
  return [...head.matchAll(/<th\b[^>]*>([\s\S]*?)<\/th>/g)].map((m) => textOf(m[1]!));
};

describe("HTML report of causal cells", () => {
  const { sweep, das, iia } = causalCells();

  it("the heatmap has a coloured, labelled, titled rect per (site, position) on the fixed 0–1 scale", () => {
    const g = sweep.sweep!;
    const hm = heatmapSvg(g);
    const cells = elements(hm.svg, "rect", "iia");
    expect(cells).toHaveLength(g.sites.length * g.positions.length);
    expect(cells).toHaveLength(24);
    const seen = new Set(cells.map((c) => `${c.attrs["data-row"]},${c.attrs["data-col"]}`));
    expect(seen.size).toBe(24);
    for (const c of cells) {
      const i = Number(c.attrs["data-row"]);
      const j = Number(c.attrs["data-col"]);
      const v = g.grid[i]![j]!;
      expect(Number(c.attrs["data-iia"])).toBe(v);
      expect(c.attrs.fill).toBe(iiaColor(v));
      expect(titleOf(c.inner)).toBe(
        `${g.sites[i]} @ ${g.positions[j]}: IIA ${v.toFixed(3)}${i === 1 && j === 5 ? " (best)" : ""}`,
      );
    }
    // the two ends of the scale: the 1.0 cell is yellow, the 0.0 cell dark purple
    const at = (i: number, j: number) =>
      cells.find((c) => c.attrs["data-row"] === String(i) && c.attrs["data-col"] === String(j))!;
    expect(g.grid[1]![5]).toBe(1);
    expect(g.grid[2]![0]).toBe(0);
    expect(at(1, 5).attrs.fill).toBe(IIA_SCALE.at(-1)![1]);
    expect(at(1, 5).attrs.fill).toBe("#fde725");
    expect(at(2, 0).attrs.fill).toBe(IIA_SCALE[0]![1]);
    expect(at(2, 0).attrs.fill).toBe("#440154");
    // fixed scale: clamped outside 0–1, the same value always the same colour, stops exact
    expect(iiaColor(1.7)).toBe("#fde725");
    expect(iiaColor(-0.2)).toBe("#440154");
    expect(iiaColor(0.5)).toBe("#21918c");
    expect(iiaColor(Number.NaN)).not.toBe(iiaColor(0));
    // in-cell labels: the value to 2 decimals, in row-major order
    expect(hm.labels).toBe(true);
    const labels = elements(hm.svg, "text", "iia-label").map((t) => textOf(t.inner));
    expect(labels).toEqual(g.grid.flatMap((row) => row.map((v) => v.toFixed(2))));
    // row labels are the sites, column labels the positions (escaped in the markup)
    expect(elements(hm.svg, "text", "site").map((t) => textOf(t.inner))).toEqual([...g.sites]);
    expect(elements(hm.svg, "text", "position").map((t) => textOf(t.inner))).toEqual([...g.positions]);
    expect(hm.svg).toContain("L0.resid&lt;post&gt;");
    expect(hm.svg).not.toContain("L0.resid<post>");
    // a legend saying which scale
    expect(hm.svg).toContain("fixed 0–1 scale (viridis)");
  });

  it("the heatmap outlines the best cell and its per-layer max column equals the row maxima", () => {
    const g = sweep.sweep!;
    const hm = heatmapSvg(g);
    expect(hm.best).toEqual({ row: 1, col: 5 });
    const bestCells = elements(hm.svg, "rect", "best-cell");
    expect(bestCells).toHaveLength(1);
    expect(bestCells[0]!.attrs["data-row"]).toBe(String(g.sites.indexOf(g.best.site)));
    expect(bestCells[0]!.attrs["data-col"]).toBe(String(g.positions.indexOf(g.best.position)));
    const outline = elements(hm.svg, "rect", "best");
    expect(outline).toHaveLength(1);
    expect(outline[0]!.attrs.x).toBe(bestCells[0]!.attrs.x);
    expect(outline[0]!.attrs.y).toBe(bestCells[0]!.attrs.y);
    expect(outline[0]!.attrs.fill).toBe("none");
    const perLayer = elements(hm.svg, "rect", "perlayer");
    const rowMaxima = g.grid.map((row) => Math.max(...row));
    expect(perLayer.map((r) => Number(r.attrs["data-iia"]))).toEqual(rowMaxima);
    expect(perLayer.map((r) => r.attrs.fill)).toEqual(rowMaxima.map(iiaColor));
    expect(elements(hm.svg, "text", "perlayer-label").map((t) => textOf(t.inner))).toEqual(
      rowMaxima.map((v) => v.toFixed(2)),
    );
    const mean = rowMaxima.reduce((a, b) => a + b, 0) / rowMaxima.length;
    const mib = textOf(elements(hm.svg, "text", "mib")[0]!.inner);
    expect(mib).toContain(`mean ${mean.toFixed(3)}`);
    expect(mib).toContain(`max ${Math.max(...rowMaxima).toFixed(3)}`);
    // a best cell the grid does not name falls back to the argmax
    const off = heatmapSvg({ ...g, best: { site: "nowhere", position: "?", iia: 1 } });
    expect(off.best).toEqual({ row: 1, col: 5 });
  });

  it("the heatmap stays readable at 12 layers × 40 positions and drops in-cell labels when cells get small", () => {
    const g = causalSweepCell({ sites: 12, positions: 40 }).sweep!;
    const hm = heatmapSvg(g);
    expect(elements(hm.svg, "rect", "iia")).toHaveLength(480);
    const width = Number(/ width="(\d+)"/.exec(hm.svg)![1]);
    expect(width).toBeLessThanOrEqual(1060);
    expect(hm.cellWidth).toBeLessThan(heatmapSvg(sweep.sweep!).cellWidth);
    expect(hm.cellWidth).toBeGreaterThanOrEqual(20);
    expect(hm.labels).toBe(true);
    expect(elements(hm.svg, "text", "iia-label")).toHaveLength(480);
    const wide = heatmapSvg(causalSweepCell({ sites: 12, positions: 120 }).sweep!);
    expect(elements(wide.svg, "rect", "iia")).toHaveLength(1440);
    expect(wide.labels).toBe(false);
    expect(elements(wide.svg, "text", "iia-label")).toHaveLength(0);
    expect(wide.cellWidth).toBeGreaterThanOrEqual(8);
    expect(wide.svg).toContain("hover a cell for its value");
    // tooltips stay when labels go
    for (const c of elements(wide.svg, "rect", "iia"))
      expect(titleOf(c.inner)).toMatch(/ @ .*: IIA \d\.\d{3}/);
  });

  it("an iia-sweep cell page: cards, the heatmap, the spec, escaped variable names", async () => {
    const page = await renderCellReport(sweep);
    expect(checkBalanced(page)).toEqual([]);
    expect(page).not.toMatch(/<(link|script|img)\b/);
    expect(page).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    expect(page.match(/<svg [^>]*class="chart heatmap"/g)).toHaveLength(1);
    const cards = new Map(
      [
        ...page.matchAll(
          /<div class="card"><div class="k">([^<]*)<\/div><div class="v[^"]*">([^<]*)<\/div>/g,
        ),
      ].map((m) => [unesc(m[1]!), unesc(m[2]!)]),
    );
    expect(cards.get("method")).toBe("iia-sweep");
    expect(cards.get("variable")).toBe("X<Y & Z");
    expect(cards.get("task / family")).toBe("copy · all");
    expect(cards.get("best IIA")).toBe("1.000");
    expect(cards.get("MIB mean")).toBe(sweep.sweep!.mean.toFixed(3));
    expect(cards.get("MIB max")).toBe("1.000");
    expect(cards.has("DAS IIA test")).toBe(false);
    expect(page).toContain("X&lt;Y &amp; Z");
    expect(page).not.toContain("X<Y & Z");
    expect(page).not.toContain("X<Y &amp; Z");
    expect(page).toMatch(/<pre class="spec">[^<]*&quot;method&quot;: &quot;iia-sweep&quot;/);
    expect(page).not.toContain('<svg xmlns="http://www.w3.org/2000/svg" class="circuit"');
  });

  it("a das cell page lists every control with its value, the reading, the boundless curve and the artifact", async () => {
    const d = das.das!;
    const c = d.controls!;
    const page = await renderCellReport(das, { seconds: 12.5 });
    expect(checkBalanced(page)).toEqual([]);
    expect(headCells(page, "controls")).toEqual([
      "alignment / control",
      "IIA train",
      "IIA test",
      "Δ vs DAS test",
      "reading",
    ]);
    const rows = tableRows(page, "controls");
    const byKey = new Map(rows.map((r) => [r.attrs["data-control"], r.cells]));
    const heldOut = Object.keys(c.heldOut);
    expect([...byKey.keys()]).toEqual([
      "das",
      "random-model",
      "random-rotation",
      "full",
      ...heldOut.map((f) => `held-out:${f}`),
    ]);
    expect(byKey.get("das")!.slice(1, 3)).toEqual([d.iia.train.toFixed(3), d.iia.test.toFixed(3)]);
    expect(byKey.get("random-model")!.slice(0, 5)).toEqual([
      "random-init model (seed 7)",
      "0.620",
      "0.230",
      "−0.680",
      "clearly lower",
    ]);
    expect(byKey.get("random-rotation")!.slice(2)).toEqual(["0.180", "−0.730", "clearly lower"]);
    expect(byKey.get("full")!.slice(2)).toEqual(["0.940", "+0.030", "agrees"]);
    expect(byKey.get("held-out:swap<a>")).toEqual([
      "held-out family swap<a>",
      "—",
      "0.880",
      "−0.030",
      "generalizes",
    ]);
    expect(byKey.get("held-out:rare & long")!.slice(2)).toEqual(["0.410", "−0.500", "drops"]);
    expect(page).toContain("held-out family swap&lt;a&gt;");
    expect(page).toContain("held-out family rare &amp; long");
    expect(page).toContain("only convincing when the controls");
    expect(page).toContain(`at least ${CONTROL_MARGIN.toFixed(2)} below`);
    // the loss curve with the learned size on a second axis, one point per step each
    const chart = /<svg [^>]*class="chart loss"[\s\S]*?<\/svg>/.exec(page)?.[0] ?? "";
    expect(chart).not.toBe("");
    expect(elements(chart, "path", "loss")).toHaveLength(1);
    expect(elements(chart, "path", "size")).toHaveLength(1);
    expect(elements(chart, "circle", "loss-point")).toHaveLength(d.curve.length);
    expect(elements(chart, "circle", "size-point")).toHaveLength(d.curve.length);
    expect(titleOf(elements(chart, "circle", "size-point").at(-1)!.inner)).toBe(
      `step ${d.curve.at(-1)!.step}: learned size ${d.curve.at(-1)!.size!.toFixed(2)}`,
    );
    expect(chart).toContain("learned size (right axis)");
    expect(page).toContain(`<code class="artifact">${d.artifact}</code>`);
    const cards = [...page.matchAll(/<div class="k">([^<]*)<\/div><div class="v[^"]*">([^<]*)</g)].map(
      (m) => `${m[1]}=${m[2]}`,
    );
    expect(cards).toEqual(
      expect.arrayContaining([
        "DAS IIA test=0.910",
        "rank / size=16 / 3.40",
        "seconds=12.5",
        "variable=pos&amp;tok",
      ]),
    );
  });

  it("das controls that do not fail are flagged; no controls, no curve and no size are said so", async () => {
    const d = das.das!;
    const weak: CausalCellResult = {
      ...das,
      das: { ...d, controls: { ...d.controls!, randomRotation: 0.85, fullComponent: 0.5 } },
    };
    const rows = new Map(
      tableRows(await renderCellReport(weak), "controls").map((r) => [r.attrs["data-control"], r.cells]),
    );
    expect(rows.get("random-rotation")!.at(-1)).toBe("not clearly lower");
    expect(rows.get("full")!.at(-1)).toBe("subspace beats the full component");
    const bare: CausalCellResult = {
      ...das,
      das: { ...d, controls: null, curve: d.curve.map(({ step, loss }) => ({ step, loss })) },
    };
    const page = await renderCellReport(bare);
    expect(tableRows(page, "controls").map((r) => r.attrs["data-control"])).toEqual(["das"]);
    expect(page).toContain("No controls were run");
    const chart = /<svg [^>]*class="chart loss"[\s\S]*?<\/svg>/.exec(page)?.[0] ?? "";
    expect(elements(chart, "path", "loss")).toHaveLength(1);
    expect(elements(chart, "path", "size")).toHaveLength(0);
    expect(chart).not.toContain("learned size");
    const none = await renderCellReport({ ...das, das: { ...d, curve: [] } });
    expect(none).toContain("No training curve was recorded.");
    expect(none).not.toContain('class="chart loss"');
  });

  it("an iia cell page shows the accuracy and the per-family table, highest first", async () => {
    const page = await renderCellReport(iia);
    expect(checkBalanced(page)).toEqual([]);
    expect(page).toMatch(/<div class="k">IIA<\/div><div class="v">0\.813<\/div>/);
    expect(page).toMatch(/<div class="k">variables<\/div><div class="v small">X, Y<\/div>/);
    expect(headCells(page, "families")).toEqual(["family", "IIA", "n", ""]);
    expect(page).toContain('<th class="num sorted">IIA</th>');
    const rows = tableRows(page, "families").map((r) => r.cells.slice(0, 3));
    expect(rows).toEqual([
      ["same-length", "0.950", "40"],
      ["mixed & noisy", "0.720", "24"],
      ["<longer>", "0.700", "32"],
      ["all", "0.813", "96"],
    ]);
    expect(page).toContain("&lt;longer&gt;");
    expect(page).toContain("mixed &amp; noisy");
    expect(page).not.toContain("<longer>");
    expect(page).not.toContain('class="chart heatmap"');
  });

  it("escapes hostile site, position, variable and family names everywhere", async () => {
    const evil = '</text><script>alert(1)</script>&"';
    const g = iiaGridOf(
      evil,
      [evil, "ok"],
      ["p", evil],
      [
        [0.2, 0.9],
        [0.1, 0.3],
      ],
    );
    const r: CausalCellResult = {
      ...sweep,
      task: { name: evil, family: evil, variables: [evil] },
      sweep: g,
      iia: { accuracy: 0.5, n: 2, perFamily: { [evil]: { accuracy: 0.5, n: 2 } } },
      das: {
        ...das.das!,
        variable: evil,
        site: evil,
        artifact: evil,
        controls: { ...das.das!.controls!, heldOut: { [evil]: 0.1 } },
      },
    };
    for (const page of [
      await renderCellReport(r),
      await renderRunReport({ runId: "x", spec: {}, cells: [r.cellId] }, [r]),
    ]) {
      expect(page).not.toContain("<script");
      expect(page).toContain("&lt;/text&gt;&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;");
      expect(checkBalanced(page)).toEqual([]);
    }
  });

  it("a mixed run page has a circuit table and a causal table; each cell its own section", async () => {
    const a = syntheticCell({ inGraph: circuit, cellId: "aaaa", spec: { method: "eap", n: 8 } });
    const cells = [a, sweep, das, iia];
    const page = await renderRunReport(
      {
        runId: "mixed",
        spec: {},
        cells: cells.map((c) => c.cellId),
        cellSeconds: { [das.cellId]: 12.5, [sweep.cellId]: 3 },
      },
      cells,
    );
    expect(checkBalanced(page)).toEqual([]);
    expect(page).toContain("<h3>Circuit-discovery cells</h3>");
    expect(page).toContain("<h3>Causal-abstraction cells</h3>");
    expect(page.match(/<table class="summary">/g)).toHaveLength(1);
    expect(tableRows(page, "summary")).toHaveLength(1); // the first table with class "summary": circuits
    expect(elements(page, "table", "summary").map((t) => t.attrs.class)).toEqual([
      "summary",
      "summary causal",
    ]);
    const keys = headKeys(page, "causal");
    expect(keys[0]).toBe("cell");
    // the spec fields that vary between the causal cells, then the causal figures (none empty here)
    expect(keys.filter((k) => k.startsWith("spec:"))).toEqual(
      varyingFields([sweep, das, iia].map((c) => c.spec))
        .filter((k) => k !== "method" && k !== "method._tag")
        .map((k) => `spec:${k}`),
    );
    expect(keys.filter((k) => !k.startsWith("spec:"))).toEqual([
      "cell",
      "method",
      "variable",
      "family",
      "iia",
      "mibMean",
      "mibMax",
      "dasTest",
      "randomModel",
      "randomRotation",
      "fullComponent",
      "seconds",
    ]);
    // human labels
    const head = headCells(page, "causal");
    expect(head).toContain("control: random model");
    expect(head).toContain("IIA / best IIA");
    expect(head.some((h) => h.includes("."))).toBe(false);
    const rows = tableRows(page, "causal");
    expect(rows).toHaveLength(3);
    const col = (key: string) => rows.map((r) => r.cells[keys.indexOf(key)]);
    expect(col("cell")).toEqual([sweep, das, iia].map((c) => c.cellId.slice(0, 12)));
    expect(col("method")).toEqual(["iia-sweep", "das", "iia"]);
    expect(col("variable")).toEqual(["X<Y & Z", "pos&tok", "X, Y"]);
    expect(col("iia")).toEqual(["1.000", "—", "0.813"]);
    expect(col("mibMean")).toEqual([sweep.sweep!.mean.toFixed(3), "—", "—"]);
    expect(col("dasTest")).toEqual(["—", "0.910", "—"]);
    expect(col("randomModel")).toEqual(["—", "0.230", "—"]);
    expect(col("randomRotation")).toEqual(["—", "0.180", "—"]);
    expect(col("fullComponent")).toEqual(["—", "0.940", "—"]);
    expect(col("seconds")).toEqual(["3.0", "12.5", "—"]);
    // shared by all three: said once above the table
    expect(page).toMatch(/In every cell: [^\n]*<span data-col="model">model <b>/);
    for (const c of cells) {
      expect(page).toContain(`<section class="cell" id="cell-${c.cellId}">`);
      expect(page).toContain(`<a href="#cell-${c.cellId}">${c.cellId.slice(0, 12)}</a>`);
    }
    expect(page.match(/class="chart heatmap"/g)).toHaveLength(1);
    expect(page.match(/<table class="controls">/g)).toHaveLength(1);
    expect(page.match(/<table class="families">/g)).toHaveLength(1);
    expect(page.match(/<svg [^>]*class="circuit"/g)).toHaveLength(1);
    const ids = [...page.matchAll(/ id="([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("a causal-only run has only the causal table (no seconds column without timings); circuit-only runs are unchanged", async () => {
    const page = await renderRunReport({ runId: "c", spec: {}, cells: [iia.cellId, "gone"] }, [iia]);
    expect(checkBalanced(page)).toEqual([]);
    expect(page).not.toContain('<table class="summary">');
    expect(page).not.toContain("<h3>Causal-abstraction cells</h3>");
    expect(tableRows(page, "causal")).toHaveLength(1);
    expect(headCells(page, "causal")).not.toContain("seconds");
    expect(page).toContain("Missing results for 1 cell: gone");
    const a = syntheticCell({ inGraph: circuit, cellId: "aaaa" });
    const circuitOnly = await renderRunReport({ runId: "r", spec: {}, cells: ["aaaa"] }, [a]);
    expect(circuitOnly).not.toContain("summary causal");
    expect(circuitOnly).not.toContain("Circuit-discovery cells");
    expect(circuitOnly).not.toContain("tr.reference");
    expect(await renderCellReport(a)).not.toContain("tr.reference");
  });

  it("writeReport reads causal cell files and the store's per-cell seconds; rejects a malformed causal cell", async () => {
    const dir = mkdtempSync(join(tmpdir(), "patchbay-report-causal-"));
    mkdirSync(join(dir, "cells"));
    mkdirSync(join(dir, "runs", "r1"), { recursive: true });
    const a = syntheticCell({ inGraph: circuit, cellId: "aaaa" });
    for (const c of [a, sweep, das]) writeFileSync(join(dir, "cells", `${c.cellId}.json`), JSON.stringify(c));
    writeFileSync(
      join(dir, "runs", "r1", "manifest.json"),
      JSON.stringify({
        runId: "r1",
        spec: { x: 1 },
        cells: [a, sweep, das].map((c) => ({ cellId: c.cellId })),
        timings: {
          startedAt: "2025-01-01T00:00:00Z",
          cells: { [das.cellId]: { seconds: 7.25, finishedAt: "2025-01-01T00:00:07Z" } },
        },
      }),
    );
    const paths = await Effect.runPromise(writeReport(dir, "r1"));
    expect(paths.cells).toHaveLength(3);
    const run = readFileSync(paths.run, "utf8");
    expect(tableRows(run, "causal").map((r) => r.cells.at(-1))).toEqual(["—", "7.3"]);
    const dasPage = readFileSync(join(dir, "cells", `${das.cellId}.html`), "utf8");
    expect(dasPage).toContain('<table class="controls">');
    expect(dasPage).toMatch(/<div class="k">seconds<\/div><div class="v">7\.3<\/div>/);
    expect(readFileSync(join(dir, "cells", `${sweep.cellId}.html`), "utf8")).toContain(
      'class="chart heatmap"',
    );
    const { task: _task, ...broken } = iia;
    writeFileSync(join(dir, "cells", `${iia.cellId}.json`), JSON.stringify(broken));
    writeFileSync(
      join(dir, "runs", "r1", "manifest.json"),
      JSON.stringify({ runId: "r1", spec: {}, cells: [iia.cellId] }),
    );
    const err = await Effect.runPromise(Effect.flip(writeReport(dir, "r1")));
    expect(err._tag).toBe("InputError");
    expect(err.message).toContain("CausalCellResult");
    // and the good one reads back
    writeFileSync(join(dir, "cells", `${iia.cellId}.json`), JSON.stringify(causalIiaCell()));
    const ok = await Effect.runPromise(writeReport(dir, "r1"));
    expect(readFileSync(ok.run, "utf8")).toContain('<table class="families">');
    expect(causalDasCell().das!.controls).not.toBeNull();
  });
});
