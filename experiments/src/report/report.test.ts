import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import {
  circuitSvg,
  parseEdge,
  renderCellReport,
  renderRunReport,
  resolveRun,
  varyingFields,
  writeReport,
} from "./index.ts";

import { syntheticCell, checkBalanced, circuit, elements, tableRows, headCells } from "./testing/html.ts";

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
