import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import type { CellResult } from "../results/types.ts";
import {
  circuitSvg,
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
    const b = syntheticCell({ inGraph: circuit.slice(0, 4), cellId: "bbbb", spec: { method: "acdc", n: 8 } });
    expect(varyingFields([a.spec, b.spec])).toEqual(["method"]);
    const page = await renderRunReport(
      { runId: "r1", spec: {}, cells: ["aaaa", "bbbb", "cccc"], timings: { total: 3 } },
      [a, b],
    );
    expect(checkBalanced(page)).toEqual([]);
    expect(page).toContain('href="#cell-aaaa"');
    expect(page).toContain('<section class="cell" id="cell-bbbb">');
    expect(page).toContain("Missing results for 1 cells: cccc");
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
