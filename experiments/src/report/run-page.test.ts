import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Effect } from "effect";
import fc from "fast-check";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AnyCellResult, CausalCellResult, CellResult } from "../kinds/index.ts";
import { runExperiment } from "../run/experiment.ts";
import { loadExperiment } from "../spec/load.ts";
import { renderCellReport } from "./render.ts";
import { lineChartSvg } from "./line-chart.ts";
import { renderRunReport } from "./run-page.ts";
import { CHROMIUM_ARGS, findChromium } from "./testing/chromium.ts";
import { writeReport } from "./write.ts";

/**
 * Reports of real runs (example files and a method × ablation sweep on builtins) measured in
 * headless Chromium: the circuit legend inside its SVG, the lens chart's axis titles clear of its
 * tick labels, the summary tables within the page, one comparison chart per sweep with a mark per
 * cell, every page escaped exactly once (a property over hostile names and fields, checked by
 * parsing the page). Each check runs again with the SVG text forced into DejaVu Sans, a wider
 * font than the Helvetica / Liberation Sans the charts ask for. Screenshots go to
 * $PATCHBAY_REPORT_SHOTS when set (else a temp folder) and their paths are printed.
 */
const executablePath = findChromium();
if (executablePath === null)
  console.warn(
    "\n*** SKIPPING the run page browser tests: no chromium on PATH (apt-get install -y chromium) ***\n",
  );

const examples = fileURLToPath(new URL("../../examples/", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "patchbay-run-page-"));
const shots = process.env.PATCHBAY_REPORT_SHOTS ?? join(dir, "shots");
mkdirSync(shots, { recursive: true });
const results = join(dir, "results");

const circuitSweep = join(dir, "methods-by-ablation.yaml");
writeFileSync(
  circuitSweep,
  [
    "name: methods-by-ablation",
    "model: builtin:induction",
    "task: { n: 4, options: { corrupt: first } }",
    "method: { _tag: eap }",
    "selection: { _tag: top-n, n: 3 }",
    "evaluation: { spearmanSample: 0, curve: true }",
    "sweep: { grid: { method: [{ _tag: eap }, { _tag: exact }], ablation: [resample, zero] } }",
    "",
  ].join("\n"),
);
const layerCell = join(dir, "layer.yaml");
writeFileSync(
  layerCell,
  [
    "name: layer",
    "model: builtin:induction",
    "task: { n: 4, options: { corrupt: first } }",
    "method: { _tag: eap }",
    "granularity: layer",
    "selection: { _tag: top-n, n: 6 }",
    "evaluation: { spearmanSample: 0 }",
    "",
  ].join("\n"),
);

interface Box {
  readonly l: number;
  readonly t: number;
  readonly r: number;
  readonly b: number;
}
const overlaps = (a: Box, b: Box, tol = 0.5) =>
  a.l < b.r - tol && b.l < a.r - tol && a.t < b.b - tol && b.t < a.b - tol;
const inside = (a: Box, outer: Box, tol = 1) =>
  a.l >= outer.l - tol && a.r <= outer.r + tol && a.t >= outer.t - tol && a.b <= outer.b + tol;

/** What the tests measure in a page, computed in the browser (plain JS: no DOM types here). */
const MEASURE = `(() => {
  const box = (el) => { const b = el.getBoundingClientRect(); return { l: b.left, t: b.top, r: b.right, b: b.bottom }; };
  const all = (root, sel) => [...root.querySelectorAll(sel)];
  return {
    circuits: all(document, "svg.circuit").map((svg) => {
      const vb = svg.viewBox.baseVal;
      const g = svg.querySelector("g.legend").getBBox();
      return { vb: { l: vb.x, t: vb.y, r: vb.x + vb.width, b: vb.y + vb.height }, legend: { l: g.x, t: g.y, r: g.x + g.width, b: g.y + g.height } };
    }),
    lines: all(document, "svg.chart.line").map((svg) => ({
      svg: box(svg),
      axisTitles: all(svg, "text.axis-title").map(box),
      ticks: all(svg, "text.tick").map(box),
      title: box(svg.querySelector("text.title")),
      legend: box(svg.querySelector("g.legend")),
      texts: all(svg, "text").map(box),
    })),
    comparisons: all(document, "svg.chart.comparison").map((svg) => ({
      rows: Number(svg.dataset.rows),
      metrics: svg.dataset.metrics.split(" "),
      marks: all(svg, "circle.mark").map((c) => ({ cell: c.dataset.cell, metric: c.dataset.metric, box: box(c) })),
      labels: all(svg, "text.row-label").map(box),
      texts: all(svg, "text").map(box),
      svg: box(svg),
    })),
    tables: all(document, "table.summary").map((t) => {
      const scroll = t.closest(".scroll");
      return { cls: t.className, scrollWidth: scroll.scrollWidth, clientWidth: scroll.clientWidth, heads: all(t, "th").map((th) => th.textContent), rows: all(t, "tbody tr").length };
    }),
    text: document.body.innerText,
  };
})()`;

interface Measured {
  readonly circuits: { vb: Box; legend: Box }[];
  readonly lines: { svg: Box; axisTitles: Box[]; ticks: Box[]; title: Box; legend: Box; texts: Box[] }[];
  readonly comparisons: {
    rows: number;
    metrics: string[];
    marks: { cell: string; metric: string; box: Box }[];
    labels: Box[];
    texts: Box[];
    svg: Box;
  }[];
  readonly tables: { cls: string; scrollWidth: number; clientWidth: number; heads: string[]; rows: number }[];
  readonly text: string;
}

const WIDE_FONT = `svg text, svg tspan { font-family: "DejaVu Sans" !important; }`;

describe.skipIf(executablePath === null)("run pages of real runs, measured in headless Chromium", () => {
  let browser: Browser;
  const runs: Record<string, { run: string; cells: readonly string[]; results: readonly AnyCellResult[] }> =
    {};

  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: executablePath!, args: CHROMIUM_ARGS });
    const files = {
      circuits: circuitSweep,
      layer: layerCell,
      seeds: join(examples, "sweep.json"),
      lens: join(examples, "readout-logit-lens.yaml"),
      patchscope: join(examples, "readout-patchscope.yaml"),
      causal: join(examples, "causal-iia.yaml"),
    };
    for (const [name, file] of Object.entries(files)) {
      const s = await Effect.runPromise(
        runExperiment(await Effect.runPromise(loadExperiment(file)), { results }),
      );
      const paths = await Effect.runPromise(writeReport(results, s.runId));
      runs[name] = { run: paths.run, cells: paths.cells, results: s.cells.map((c) => c.result) };
    }
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
  });

  const open = async (file: string, wide = false): Promise<{ page: Page; m: Measured; errors: string[] }> => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (msg) => {
      if (msg.type() === "error") errors.push(msg.text());
    });
    await page.goto(pathToFileURL(file).href);
    if (wide) await page.addStyleTag({ content: WIDE_FONT });
    return { page, m: (await page.evaluate(MEASURE)) as Measured, errors };
  };

  it("every circuit SVG's legend lies inside its viewBox (head and layer granularity, any font)", async () => {
    let n = 0;
    for (const name of ["circuits", "layer", "seeds"])
      for (const wide of [false, true]) {
        const { page, m, errors } = await open(runs[name]!.run, wide);
        expect(m.circuits.length).toBe(runs[name]!.results.length);
        for (const c of m.circuits) {
          expect(inside(c.legend, c.vb, 0), `${name} legend ${JSON.stringify(c)}`).toBe(true);
          n++;
        }
        expect(errors).toEqual([]);
        if (!wide && name === "layer") {
          const shot = join(shots, "circuit-layer-granularity.png");
          await page.locator("svg.circuit").first().screenshot({ path: shot });
          console.log(`circuit SVG (layer granularity): ${shot}`);
        }
        await page.close();
      }
    expect(n).toBe(2 * (4 + 1 + 2));
  });

  it("the lens chart: no axis title over a tick label, every label inside the chart, the legend clear of the title", async () => {
    const check = (m: Measured, what: string) => {
      expect(m.lines.length, what).toBeGreaterThan(0);
      for (const l of m.lines) {
        expect(l.axisTitles).toHaveLength(2);
        for (const a of l.axisTitles)
          for (const t of l.ticks)
            expect(overlaps(a, t), `${what}: axis title over a tick label`).toBe(false);
        for (const t of l.texts) expect(inside(t, l.svg), `${what}: text outside the chart`).toBe(true);
        expect(overlaps(l.title, l.legend), `${what}: legend over the title`).toBe(false);
      }
    };
    for (const wide of [false, true]) {
      const { page, m, errors } = await open(runs.lens!.run, wide);
      check(m, `logit lens${wide ? " (wide font)" : ""}`);
      expect(errors).toEqual([]);
      if (!wide) {
        const shot = join(shots, "lens-chart.png");
        await page.locator("svg.chart.line").first().screenshot({ path: shot });
        console.log(`lens chart: ${shot}`);
      }
      await page.close();
    }
    // the hard case: long site names (a 12-layer TransformerLens model), two lenses, a long title
    const sites = Array.from({ length: 13 }, (_, i) =>
      i === 0 ? "hook_embed" : `blocks.${i - 1}.hook_resid_post`,
    );
    const file = join(dir, "long-sites.html");
    writeFileSync(
      file,
      `<!DOCTYPE html><html><body>${lineChartSvg({
        title: "KL(final ‖ lens) per site, logit and tuned lens on a 12-layer model",
        xs: sites.map((_, i) => i),
        xLabels: sites,
        xLabel: "site (stream order)",
        yLabel: "KL (nats)",
        series: [
          { name: "logit lens", color: "#0072B2", ys: sites.map((_, i) => 0.0004 * (12 - i)) },
          { name: "tuned lens", color: "#D55E00", ys: sites.map((_, i) => 0.0002 * (12 - i)), dashed: true },
        ],
      })}</body></html>`,
    );
    for (const wide of [false, true]) {
      const { page, m } = await open(file, wide);
      check(m, `long site names${wide ? " (wide font)" : ""}`);
      // small values keep their decimals: distinct tick labels
      const ticks = await page.locator("text.tick.y").allTextContents();
      expect(new Set(ticks).size).toBe(ticks.length);
      if (!wide) {
        const shot = join(shots, "lens-chart-long-sites.png");
        await page.locator("svg.chart.line").screenshot({ path: shot });
        console.log(`lens chart, long site names: ${shot}`);
      }
      await page.close();
    }
  });

  it("a sweep has one comparison chart with one mark per cell in each panel; labels clear of the marks", async () => {
    for (const name of ["circuits", "seeds", "patchscope", "causal"]) {
      const { page, m, errors } = await open(runs[name]!.run);
      const cells = runs[name]!.results.map((r) => r.cellId);
      expect(m.comparisons, name).toHaveLength(1);
      const c = m.comparisons[0]!;
      expect(c.rows).toBe(cells.length);
      for (const metric of c.metrics) {
        const marks = c.marks.filter((k) => k.metric === metric);
        // a cell without the figure gets a dash, never two marks
        expect(new Set(marks.map((k) => k.cell)).size, `${name} ${metric}`).toBe(marks.length);
        for (const k of marks) expect(cells).toContain(k.cell);
      }
      const faithfulness = c.marks.filter((k) => k.metric === "faithfulness").map((k) => k.cell);
      if (name === "circuits" || name === "seeds") expect(faithfulness.sort()).toEqual([...cells].sort());
      for (const label of c.labels) for (const k of c.marks) expect(overlaps(label, k.box)).toBe(false);
      for (const t of c.texts) expect(inside(t, c.svg)).toBe(true);
      expect(errors).toEqual([]);
      if (name === "circuits") {
        expect(c.metrics).toEqual(["faithfulness", "auc", "cpr", "edges"]);
        const shot = join(shots, "sweep-comparison.png");
        await page.locator("svg.chart.comparison").screenshot({ path: shot });
        const whole = join(shots, "sweep-run-page.png");
        await page.screenshot({ path: whole, fullPage: false });
        console.log(`sweep comparison chart: ${shot}; run page (top): ${whole}`);
      }
      await page.close();
    }
    // a single cell has nothing to compare
    const { page, m } = await open(runs.lens!.run);
    expect(m.comparisons).toHaveLength(0);
    await page.close();
  });

  it("summary tables fit the page at 1280 px, with human labels (no dotted paths, no column names)", async () => {
    for (const [name, r] of Object.entries(runs)) {
      const { page, m } = await open(r.run);
      expect(m.tables.length, name).toBeGreaterThan(0);
      for (const t of m.tables) {
        expect(t.scrollWidth, `${name}: ${t.cls} is wider than the page`).toBeLessThanOrEqual(t.clientWidth);
        expect(t.rows).toBe(r.results.length);
        for (const h of t.heads) expect(h, `${name} header`).not.toMatch(/\w\.\w|_tag|[a-z][A-Z]/);
      }
      await page.close();
    }
  });

  it("no page of a real run shows an escaped entity as text or holds a double escape", async () => {
    const pages = Object.values(runs).flatMap((r) => [r.run, ...r.cells]);
    expect(pages.length).toBeGreaterThan(10);
    for (const file of pages) {
      const raw = readFileSync(file, "utf8");
      expect(raw, file).not.toMatch(/&amp;(lt|gt|amp|quot|#39);/);
      const { page, m } = await open(file);
      expect(m.text, file).not.toMatch(/&(lt|gt|amp|quot|#39);/);
      await page.close();
    }
    expect(readdirSync(join(results, "cells")).filter((f) => f.endsWith(".html")).length).toBeGreaterThan(10);
  });

  it("property: any names and fields with < > & \" ' round-trip through the cell and run pages exactly once (parsed by the browser)", async () => {
    const circuit = runs.circuits!.results[0] as CellResult;
    const causal = runs.causal!.results[0] as CausalCellResult;
    const piece = fc.constantFrom(
      "<",
      ">",
      "&",
      '"',
      "'",
      "a",
      "Z",
      " ",
      "&lt;",
      "&amp;",
      "</b>",
      "é",
      ";",
      "#",
      "=",
    );
    const text = fc.array(piece, { minLength: 1, maxLength: 5 }).map((xs) => xs.join(""));
    const page = await browser.newPage();
    /** Text of the page parsed from `html`: title, headings, spec, summary cells, notes. */
    const parse = (html: string) =>
      page.evaluate(
        `(() => {
          const d = new DOMParser().parseFromString(${JSON.stringify(html)}, "text/html");
          const txt = (sel) => [...d.querySelectorAll(sel)].map((e) => e.textContent);
          return {
            title: d.querySelector("title").textContent,
            h1: txt("h1")[0],
            h2: txt("h2"),
            spec: txt("pre.spec"),
            cells: Object.fromEntries([...d.querySelectorAll("table.summary td[data-col]")].map((td) => [td.dataset.col, td.textContent])),
            shared: Object.fromEntries([...d.querySelectorAll("p.shared span[data-col]")].map((s) => [s.dataset.col, s.querySelector("b").textContent])),
            notes: txt("section.cell > p.note"),
            labels: [...d.querySelectorAll("text.row-label")].map((t) => t.firstChild.nodeValue),
          };
        })()`,
      ) as Promise<{
        title: string;
        h1: string;
        h2: string[];
        spec: string[];
        cells: Record<string, string>;
        shared: Record<string, string>;
        notes: string[];
        labels: string[];
      }>;
    await fc.assert(
      fc.asyncProperty(text, text, text, text, text, async (model, method, note, runId, family) => {
        const a: CellResult = {
          ...circuit,
          cellId: "a".repeat(64),
          model: { ...circuit.model, name: model },
          method,
          spec: { ...(circuit.spec as object), note },
        };
        const b: CellResult = {
          ...a,
          cellId: "b".repeat(64),
          spec: { ...(circuit.spec as object), note: `${note}!` },
        };
        const cellPage = await parse(await renderCellReport(a));
        expect(cellPage.title).toBe(`patchbay cell: ${method} on ${model}`);
        expect(cellPage.h1).toBe(cellPage.title);
        expect(cellPage.spec[0]).toBe(JSON.stringify(a.spec, null, 2));
        const c: CausalCellResult = { ...causal, task: { ...causal.task, family } };
        const runPage = await parse(
          await renderRunReport({ runId, spec: { name: note }, cells: [a.cellId, b.cellId, c.cellId] }, [
            a,
            b,
            c,
          ]),
        );
        expect(runPage.title).toBe(`patchbay run ${runId}`);
        expect(runPage.h1).toBe(runPage.title);
        expect(runPage.spec[0]).toBe(JSON.stringify({ name: note }, null, 2));
        expect(runPage.shared.model).toBe(model);
        expect(runPage.shared.method).toBe(method);
        expect(runPage.cells["spec:note"]).toBe(`${note}!`); // the last row's
        expect(runPage.labels).toEqual([`note ${note}`, `note ${note}!`]);
        expect(runPage.h2).toContain(`Cell 1: ${method} on ${model}`);
        expect(runPage.notes[0]).toContain(`note = ${note} · `);
        expect(runPage.cells.family).toBe(family); // the causal table's single row
      }),
      { numRuns: 30 },
    );
    await page.close();
  });
});
