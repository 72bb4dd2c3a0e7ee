import { beforeAll, describe, expect, it } from "vitest";
import type { ReadoutCellResult } from "./result.ts";
import { scaleColor, valueHeatmapSvg } from "../../report/heatmap.ts";
import { renderCellReport } from "../../report/render.ts";
import { renderRunReport } from "../../report/run-page.ts";
import { Effect } from "effect";
import {
  hasSharedModels,
  sharedModelPath,
  warnIfNoSharedModels,
} from "../../../../packages/core/src/testing/shared.ts";
import { readoutFixtureCell, readoutFixtureCells } from "../../report/readout-fixture.ts";

/**
 * Report sections of readout cells, on real cells of every method (readout-fixture.ts): each
 * method's figures and tables are present with the numbers of its result, text is escaped, and
 * pages hold no scripts or external assets.
 */
let cells: ReadoutCellResult[];
const byMethod = (m: ReadoutCellResult["method"]) => cells.find((c) => c.method === m)!;
const count = (html: string, re: RegExp) => (html.match(re) ?? []).length;

beforeAll(async () => {
  cells = await readoutFixtureCells();
}, 60_000);

const selfContained = (page: string) => {
  expect(page).not.toMatch(/<script/i);
  expect(page).not.toMatch(/\b(src|href)="(https?:)?\/\//i);
  expect(page).not.toMatch(/<link\b/i);
};

describe("readout report sections", () => {
  it("every method's page renders, self-contained, with its method-specific parts", async () => {
    expect(cells.map((c) => c.method)).toEqual([
      "logit-lens",
      "tuned-lens",
      "input-attribution",
      "dla",
      "attention",
      "probe",
      "steering",
      "erasure",
      "neurons",
      "sae",
      "sae-circuit",
      "patchscope",
      "attention-entropy",
    ]);
    const want: Record<Exclude<ReadoutCellResult["method"], "patchscope-sweep">, RegExp[]> = {
      "logit-lens": [/svg[^>]*class="chart line"/, /<table class="lens">/],
      "tuned-lens": [/tuned lens/, /svg[^>]*class="chart loss"/, /tuned-lens\.json/],
      "input-attribution": [/<table class="attributions">/, /data-completeness=/, /class="tok"/],
      dla: [/svg[^>]*class="chart heatmap values"/, /<table class="dla-terms">/],
      attention: [/attention rollout after the last layer/, /a1\.h2/],
      probe: [/<table class="probes">/, /selectivity/],
      steering: [/svg[^>]*class="chart line"/, /<table class="steering">/, /<table class="continuations">/],
      erasure: [/Linear erasure/, /after erasure/],
      neurons: [/<div class="explanation">/, /Top-activating records/, /class="tok"/],
      sae: [/CE loss recovered/, /<table class="sae-metrics">/, /<table class="features">/, /sae\.json/],
      "sae-circuit": [
        /Sparse feature circuit/,
        /<table class="circuit-nodes">/,
        /svg[^>]*class="chart line"/,
        /sae\.json/,
      ],
      patchscope: [/<table class="patchscope">/, /precision@1/],
      "attention-entropy": [
        /Attention-head entropy/,
        /svg[^>]*class="chart heatmap values"/,
        /Most focused head: a\d\.h\d/,
      ],
    };
    for (const c of cells) {
      const page = await renderCellReport(c);
      selfContained(page);
      for (const re of want[c.method as keyof typeof want]) expect(page, `${c.method}: ${re}`).toMatch(re);
      expect(page).toContain(c.cellId);
    }
  });

  it("the lens table has a row per (site, lens) and a column per position; DLA draws one cell per (layer, head) with its value", async () => {
    const lens = byMethod("logit-lens");
    if (lens.method !== "logit-lens") throw new Error();
    const page = await renderCellReport(lens);
    const t = lens.result.table;
    expect(count(page, /<tr data-site="[^"]*" data-lens="logit">/g)).toBe(t.rows.length);
    expect(count(page, /<td class="cell"/g)).toBe((t.rows.length + 1) * t.tokens.length);
    const dla = byMethod("dla");
    if (dla.method !== "dla") throw new Error();
    const d = await renderCellReport(dla);
    const heads = dla.result.mean.heads!;
    const values = [...d.matchAll(/<rect class="value"[^>]*data-value="([^"]*)"/g)].map((m) => Number(m[1]));
    expect(values).toEqual(heads.flat());
  });

  it("probe and steering tables carry the result's numbers; the neuron records colour one token per activation", async () => {
    const probe = byMethod("probe");
    if (probe.method !== "probe") throw new Error();
    const p = await renderCellReport(probe);
    for (const s of probe.result.sites) {
      expect(p).toContain(`data-site="${s.site}"`);
      expect(p).toContain(s.task.heldOutAccuracy.toFixed(3));
    }
    const steer = byMethod("steering");
    if (steer.method !== "steering") throw new Error();
    const st = await renderCellReport(steer);
    expect(count(st, /<tr data-alpha=/g)).toBe(steer.result.sweep.length);
    for (const pt of steer.result.sweep) expect(st).toContain(pt.metric.toFixed(4));
    const n = byMethod("neurons");
    if (n.method !== "neurons") throw new Error();
    const np = await renderCellReport(n);
    const shown = [
      ...(n.result.record.most_positive_activation_records ?? []).slice(0, 12),
      ...(n.result.record.random_sample ?? []).slice(0, 8),
    ];
    expect(count(np, /<span class="tok"/g)).toBe(shown.reduce((a, r) => a + r.tokens.length, 0));
  });

  it("text from results is escaped (explanations, token strings)", async () => {
    const n = byMethod("neurons");
    if (n.method !== "neurons") throw new Error();
    const evil = '<script>alert("x")</script>';
    const bad = {
      ...n,
      result: { ...n.result, score: { ...n.result.score, explanation: evil } },
    } as ReadoutCellResult;
    const page = await renderCellReport(bad);
    expect(page).not.toContain(evil);
    expect(page).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
  });

  it("a run page: one summary row per readout cell with its headline, and a section per cell", async () => {
    const page = await renderRunReport({ runId: "r", spec: {}, cells: cells.map((c) => c.cellId) }, cells);
    selfContained(page);
    const table = page.slice(page.indexOf('<table class="summary readout">'));
    expect(
      count(
        table.slice(0, table.indexOf("</table>")),
        /<tr><td data-col="cell" class="name"[^>]*><a href="#cell-/g,
      ),
    ).toBe(cells.length);
    // key figures in words, not column names
    expect(page).toMatch(/held-out accuracy 0?\.?\d/);
    expect(page).not.toMatch(/klLogitMean|heldOutPrompts/);
    // every method has its own headline: nothing to compare across cells, no chart
    expect(page).not.toContain('class="chart comparison"');
    for (const c of cells) expect(page).toContain(`<section class="cell" id="cell-${c.cellId}">`);
    expect(page).toMatch(/best held-out accuracy/);
    expect(page).toMatch(/CE loss recovered/);
  });

  it("the value heatmap: a given range and a diverging scale (0 white, signs apart), viridis for sequential", () => {
    expect(scaleColor(0, -2, 2, "diverging")).toBe("#ffffff");
    expect(scaleColor(2, -2, 2, "diverging")).toBe("#b2182b");
    expect(scaleColor(-2, -2, 2, "diverging")).toBe("#2166ac");
    expect(scaleColor(0, 0, 1, "sequential")).toBe("#440154");
    expect(scaleColor(5, 0, 1, "sequential")).toBe("#fde725"); // clamped
    const hm = valueHeatmapSvg(
      {
        title: "t <b>",
        rows: ["a", "b"],
        cols: ["x", "y", "z"],
        values: [
          [1, 2, 3],
          [4, 5, Number.NaN],
        ],
        legend: "v",
      },
      { range: [0, 10] },
    );
    expect(count(hm.svg, /<rect class="value"/g)).toBe(6);
    expect(hm.svg).toContain("t &lt;b&gt;");
    expect(hm.svg).toContain('data-value=""'); // NaN: no value, grey cell
  });
});

warnIfNoSharedModels("kinds/readout/report.test.ts: the patchscope-sweep report on stories260K");

describe.skipIf(!hasSharedModels)("readout report on stories260K (../shared/models)", () => {
  it("a patchscope sweep: the per-layer chart and a table row per source site, token strings escaped", async () => {
    const r = await Effect.runPromise(
      readoutFixtureCell({
        model: sharedModelPath("stories260K", "stories260K.bin"),
        data: { texts: ["Once upon a time, there was a girl named Lily.", "The cat & the <dog> sat."] },
        method: { _tag: "patchscope-sweep", prompt: "token-identity" },
      }),
    );
    if (r.method !== "patchscope-sweep") throw new Error(r.method);
    const page = await renderCellReport(r);
    selfContained(page);
    expect(page).toMatch(/svg[^>]*class="chart line"/);
    expect(count(page, /<tr><td class="name">blocks\./g)).toBe(r.result.layers.length);
    expect(page).not.toContain("<dog>");
  });
});
