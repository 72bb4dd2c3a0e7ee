import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import type { CausalCellResult } from "./result.ts";
import {
  CONTROL_MARGIN,
  causalCells,
  causalDasCell,
  causalIiaCell,
  iiaGridOf,
  renderCellReport,
  renderRunReport,
  varyingFields,
  writeReport,
} from "../../report/index.ts";

import {
  syntheticCell,
  checkBalanced,
  circuit,
  unesc,
  elements,
  titleOf,
  tableRows,
  headKeys,
  headCells,
} from "../../report/testing/html.ts";

describe("HTML report of causal cells", () => {
  const { sweep, das, iia } = causalCells();

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
