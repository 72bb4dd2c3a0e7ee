import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Effect } from "effect";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AnyCellResult, CellResult } from "../kinds/index.ts";
import { causalCells, inductionCell, parseEdge, renderCellReport, writeReport } from "./index.ts";
import { readoutFixtureCells } from "./readout-fixture.ts";
import { CHROMIUM_ARGS, findChromium } from "./testing/chromium.ts";

/**
 * The report in a real browser: headless Chromium (Debian package `chromium`) driven by
 * playwright-core, on a CellResult from a real discovery run on builtin:induction. Checks that
 * the circuit SVG holds the circuit's nodes and exactly its edges, and saves screenshots; and on
 * the causal fixtures: a causal cell page and a run page mixing both kinds render without console
 * errors, with the IIA heatmap visible; and a run of readout cells (one per method) with every
 * method's figures visible.
 */
const executablePath = findChromium();
if (executablePath === null)
  console.warn(
    "\n*** SKIPPING the HTML report browser test: no chromium on PATH (apt-get install -y chromium) ***\n",
  );

describe.skipIf(executablePath === null)("HTML report in headless Chromium", () => {
  let browser: Browser;
  let cells: CellResult[];
  const dir = mkdtempSync(join(tmpdir(), "patchbay-report-browser-"));

  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: executablePath!, args: CHROMIUM_ARGS });
    const run = (discovery: Parameters<typeof inductionCell>[0]) =>
      Effect.runPromise(inductionCell(discovery, { n: 16 }));
    cells = [
      await run({
        method: { _tag: "eap-ig-inputs", steps: 5 },
        selection: { _tag: "faithful", target: 0.9, absolute: true },
        checkSample: 24,
        checkSeed: 0,
      }),
      await run({
        method: { _tag: "acdc", tau: 0.5, order: "normal", seed: 0, absolute: false },
        checkSample: 0,
        checkSeed: 0,
      }),
    ];
  });
  afterAll(async () => {
    await browser?.close();
  });

  const expected = (r: CellResult) => {
    const kept = r.edges.filter((e) => e.inGraph).map((e) => parseEdge(e.name));
    return {
      nodes: [...new Set(["input", "logits", ...kept.flatMap((e) => [e.source, e.target])])].sort(),
      edges: kept.length,
    };
  };

  it("the cell page's SVG holds the circuit's nodes and exactly its in-graph edges", async () => {
    const r = cells[0]!;
    const file = join(dir, "cell.html");
    writeFileSync(file, await renderCellReport(r));
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("requestfailed", (q) => errors.push(`request ${q.url()}`));
    await page.goto(pathToFileURL(file).href);
    const want = expected(r);
    expect(want.edges).toBeGreaterThan(0);
    const nodes = await page.$$eval("svg.circuit g.node", (gs) =>
      gs.map((g) => g.getAttribute("data-node")!),
    );
    expect([...nodes].sort()).toEqual(want.nodes);
    for (const n of want.nodes) {
      const text = await page.locator(`svg.circuit [id="node-${n}"] text`).textContent();
      expect(text).toBe(n);
    }
    expect(await page.locator("svg.circuit path.edge").count()).toBe(want.edges);
    // every edge has its name and score as a tooltip, and a drawn path
    const titles = await page.$$eval("svg.circuit path.edge", (ps) =>
      ps.map((p) => [p.querySelector("title")?.textContent ?? "", p.getAttribute("d") ?? ""]),
    );
    for (const [title, d] of titles) {
      expect(title).toMatch(/->.*score/);
      expect(d).toMatch(/^M [\d.-]+ [\d.-]+ L /);
    }
    // the layout is bottom-up: input below every head, logits above
    const y = async (n: string) => (await page.locator(`svg.circuit [id="node-${n}"] rect`).boundingBox())!.y;
    expect(await y("input")).toBeGreaterThan(await y("logits"));
    for (const n of want.nodes.filter((x) => x.startsWith("a1.")))
      expect(await y(n)).toBeLessThan(await y("input"));
    // truth section, curve, spread, table and spec are there
    for (const sel of [
      "svg.curve circle.point",
      "svg.spread rect.iqr",
      "table.scores tbody tr",
      "table.truth",
      "pre.spec",
    ])
      expect(await page.locator(sel).count(), sel).toBeGreaterThan(0);
    expect(await page.locator("table.scores tbody tr").count()).toBe(
      Math.min(50, r.edges.filter((e) => e.score !== null && (e.score !== 0 || e.inGraph)).length),
    );
    expect(errors).toEqual([]);
    const shot = join(dir, "cell.png");
    await page.screenshot({ path: shot, fullPage: true });
    const graph = join(dir, "cell-circuit.png");
    await page.locator("svg.circuit").screenshot({ path: graph });
    console.log(`report screenshots: ${shot} (whole page), ${graph} (circuit)`);
    await page.close();
  });

  it("the run page from the results layout links to each cell's section", async () => {
    const results = join(dir, "results");
    mkdirSync(join(results, "cells"), { recursive: true });
    mkdirSync(join(results, "runs", "run1"), { recursive: true });
    for (const c of cells)
      writeFileSync(join(results, "cells", `${c.cellId}.json`), JSON.stringify(c, null, 1));
    writeFileSync(
      join(results, "runs", "run1", "manifest.json"),
      JSON.stringify({
        runId: "run1",
        spec: { sweep: { method: ["eap-ig", "acdc"] } },
        cells: cells.map((c) => c.cellId),
        timings: { total: 4.2 },
      }),
    );
    const paths = await Effect.runPromise(writeReport(results, "run1"));
    expect(paths.cells).toHaveLength(cells.length);
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(pathToFileURL(paths.run).href);
    expect(await page.locator("table.summary tbody tr").count()).toBe(cells.length);
    for (const [i, c] of cells.entries()) {
      const section = page.locator(`section#cell-${c.cellId}`);
      expect(await section.count()).toBe(1);
      expect(await page.locator(`table.summary a[href="#cell-${c.cellId}"]`).count()).toBe(1);
      expect(await section.locator("svg.circuit path.edge").count()).toBe(expected(c).edges);
      const nodes = await section
        .locator("svg.circuit g.node")
        .evaluateAll((gs) => gs.map((g) => g.getAttribute("data-node")!));
      expect([...nodes].sort()).toEqual(expected(c).nodes);
      expect(await section.locator(`[id="c${i}-node-logits"]`).count()).toBe(1);
    }
    const shot = join(dir, "run.png");
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`run report: ${paths.run}; screenshot ${shot}`);
    await page.close();
  });

  /** A page that records console errors, uncaught exceptions and failed requests. */
  const openPage = async (file: string) => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(`console: ${m.text()}`);
    });
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("requestfailed", (q) => errors.push(`request ${q.url()}`));
    await page.goto(pathToFileURL(file).href);
    return { page, errors };
  };

  it("a causal sweep cell page shows the heatmap with a visible rect per (site, position)", async () => {
    const { sweep, das } = causalCells();
    const g = sweep.sweep!;
    const file = join(dir, "causal-sweep.html");
    writeFileSync(file, await renderCellReport(sweep));
    const { page, errors } = await openPage(file);
    const heatmap = page.locator("svg.heatmap");
    expect(await heatmap.count()).toBe(1);
    expect(await heatmap.isVisible()).toBe(true);
    const box = (await heatmap.boundingBox())!;
    expect(box.width).toBeGreaterThan(100);
    expect(box.height).toBeGreaterThan(50);
    const rects = await page.$$eval("svg.heatmap rect.iia", (rs) =>
      rs.map((r) => {
        const b = r.getBoundingClientRect();
        return { w: b.width, h: b.height, title: r.querySelector("title")?.textContent ?? "" };
      }),
    );
    expect(rects).toHaveLength(g.sites.length * g.positions.length);
    for (const r of rects) {
      expect(r.w).toBeGreaterThan(0);
      expect(r.h).toBeGreaterThan(0);
      expect(r.title).toMatch(/ @ .*: IIA \d\.\d{3}/);
    }
    expect(await page.locator("svg.heatmap text.iia-label").count()).toBe(rects.length);
    expect(await page.locator("svg.heatmap rect.best").count()).toBe(1);
    expect(await page.locator("svg.heatmap text.site").allTextContents()).toEqual([...g.sites]);
    expect(errors).toEqual([]);
    const shot = join(dir, "causal-heatmap.png");
    await heatmap.screenshot({ path: shot });
    await page.close();
    // the das page: controls table and the loss curve with the learned size
    const dasFile = join(dir, "causal-das.html");
    writeFileSync(dasFile, await renderCellReport(das));
    const d = await openPage(dasFile);
    expect(await d.page.locator("table.controls tbody tr").count()).toBe(
      4 + Object.keys(das.das!.controls!.heldOut).length,
    );
    expect(await d.page.locator("svg.loss path.size").isVisible()).toBe(true);
    expect((await d.page.locator("svg.loss").boundingBox())!.width).toBeGreaterThan(100);
    expect(d.errors).toEqual([]);
    await d.page.close();
    console.log(`causal heatmap screenshot: ${shot}`);
  });

  it("a run mixing circuit and causal cells renders both tables and every section", async () => {
    const { sweep, das, iia } = causalCells();
    const all: AnyCellResult[] = [cells[0]!, sweep, das, iia];
    const results = join(dir, "results-mixed");
    mkdirSync(join(results, "cells"), { recursive: true });
    mkdirSync(join(results, "runs", "mixed"), { recursive: true });
    for (const c of all)
      writeFileSync(join(results, "cells", `${c.cellId}.json`), JSON.stringify(c, null, 1));
    writeFileSync(
      join(results, "runs", "mixed", "manifest.json"),
      JSON.stringify({
        runId: "mixed",
        spec: { sweep: { method: ["eap-ig", "iia-sweep", "das", "iia"] } },
        cells: all.map((c) => c.cellId),
        timings: { cells: { [das.cellId]: { seconds: 4.5, finishedAt: "2025-01-01T00:00:00Z" } } },
      }),
    );
    const paths = await Effect.runPromise(writeReport(results, "mixed"));
    expect(paths.cells).toHaveLength(all.length);
    const { page, errors } = await openPage(paths.run);
    expect(await page.locator("table.summary:not(.causal) tbody tr").count()).toBe(1);
    expect(await page.locator("table.summary.causal tbody tr").count()).toBe(3);
    for (const c of all) {
      expect(await page.locator(`section#cell-${c.cellId}`).count()).toBe(1);
      expect(await page.locator(`table.summary a[href="#cell-${c.cellId}"]`).count()).toBe(1);
    }
    expect(await page.locator(`section#cell-${cells[0]!.cellId} svg.circuit path.edge`).count()).toBe(
      expected(cells[0]!).edges,
    );
    const heatmap = page.locator(`section#cell-${sweep.cellId} svg.heatmap`);
    await heatmap.scrollIntoViewIfNeeded();
    expect(await heatmap.isVisible()).toBe(true);
    const box = (await heatmap.boundingBox())!;
    expect(box.width).toBeGreaterThan(100);
    expect(box.height).toBeGreaterThan(50);
    expect(await page.locator(`section#cell-${das.cellId} table.controls`).count()).toBe(1);
    expect(await page.locator(`section#cell-${iia.cellId} table.families tbody tr`).count()).toBe(
      Object.keys(iia.iia!.perFamily).length + 1,
    );
    expect(errors).toEqual([]);
    const shot = join(dir, "run-mixed.png");
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`mixed run report: ${paths.run}; screenshot ${shot}`);
    await page.close();
  });

  it("a run of readout cells (one per method) renders every section, its charts and heatmaps visible, no errors", async () => {
    const all = await readoutFixtureCells();
    const results = join(dir, "results-readout");
    mkdirSync(join(results, "cells"), { recursive: true });
    mkdirSync(join(results, "runs", "readout"), { recursive: true });
    for (const c of all)
      writeFileSync(join(results, "cells", `${c.cellId}.json`), JSON.stringify(c, null, 1));
    writeFileSync(
      join(results, "runs", "readout", "manifest.json"),
      JSON.stringify({ runId: "readout", spec: {}, cells: all.map((c) => c.cellId) }),
    );
    const paths = await Effect.runPromise(writeReport(results, "readout"));
    expect(paths.cells).toHaveLength(all.length);
    const { page, errors } = await openPage(paths.run);
    expect(await page.locator("table.summary.readout tbody tr").count()).toBe(all.length);
    const visible = async (cellId: string, selector: string, n: number) => {
      const loc = page.locator(`section#cell-${cellId} ${selector}`);
      expect(await loc.count(), `${selector} in ${cellId}`).toBe(n);
      const first = loc.first();
      await first.scrollIntoViewIfNeeded();
      expect(await first.isVisible()).toBe(true);
      const box = (await first.boundingBox())!;
      expect(box.width).toBeGreaterThan(50);
      expect(box.height).toBeGreaterThan(10);
    };
    const id = (m: string) => all.find((c) => c.method === m)!.cellId;
    await visible(id("logit-lens"), "svg.line", 1);
    await visible(id("logit-lens"), "table.lens", 1);
    await visible(id("tuned-lens"), "svg.loss", 1);
    await visible(id("dla"), "svg.heatmap.values", 1);
    const dla = all.find((c) => c.method === "dla")!;
    const rects = await page.$$eval(`section#cell-${dla.cellId} svg.heatmap rect.value`, (rs) =>
      rs.map((r) => r.getBoundingClientRect().width),
    );
    expect(rects).toHaveLength(dla.model.nLayers * dla.model.nHeads);
    for (const w of rects) expect(w).toBeGreaterThan(0);
    await visible(id("attention"), "svg.heatmap.values", 1 + dla.model.nLayers * dla.model.nHeads);
    await visible(id("input-attribution"), "table.attributions", 2);
    await visible(id("probe"), "table.probes", 1);
    await visible(id("steering"), "svg.line", 1);
    await visible(id("erasure"), "table.probes", 1);
    await visible(id("neurons"), "div.explanation", 1);
    await visible(id("sae"), "table.sae-metrics", 1);
    expect(errors).toEqual([]);
    const shot = join(dir, "run-readout.png");
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`readout run report: ${paths.run}; screenshot ${shot}`);
    await page.close();
  });
});
