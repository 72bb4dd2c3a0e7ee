import type { CausalCellResult } from "./result.ts";
import { CAUSAL_COLUMNS } from "./columns.ts";
import { lossCurveSvg } from "../../report/charts.ts";
import { heatmapSvg, iiaColor } from "../../report/heatmap.ts";
import { card, esc, fmt, type Html, html, n2, prettyJson, raw } from "../../report/html.ts";
import type { ComparisonMetric } from "../../report/comparison.ts";
import type { SummaryColumn } from "../../report/summary.ts";

/**
 * The report section of a causal-abstraction cell (kind "causal"): cards, then per method the
 * IIA per family (iia), the site × position heatmap (iia-sweep), or the learned alignment against
 * its controls and its training curve (das), then the spec. Also the cells of its row in a run's
 * causal summary table.
 */

/**
 * A control counts as "clearly lower" when it is at least this far below the DAS test IIA, and
 * the full component / a held-out family "agrees" when it is at most this far below.
 */
export const CONTROL_MARGIN = 0.1;

const fmtSize = (x: number) => (Number.isInteger(x) ? String(x) : fmt(x, 2));

/** The causal variable(s) a cell is about: the sweep's or the alignment's, else the task's. */
export const causalVariable = (r: CausalCellResult): string =>
  r.sweep?.variable ?? r.das?.variable ?? r.task.variables.join(", ");

/** The headline IIA: the fixed alignment's accuracy, else the sweep's best cell. */
export const headlineIia = (r: CausalCellResult): number | null =>
  r.iia?.accuracy ?? r.sweep?.best.iia ?? null;

const familyTable = (iia: NonNullable<CausalCellResult["iia"]>): Html => {
  const rows = Object.entries(iia.perFamily).sort(
    ([a, x], [b, y]) =>
      (Number.isFinite(y.accuracy) ? y.accuracy : -1) - (Number.isFinite(x.accuracy) ? x.accuracy : -1) ||
      a.localeCompare(b),
  );
  const bar = (v: number) =>
    Number.isFinite(v)
      ? raw(
          `<span class="bar" style="width:${n2(Math.max(0, Math.min(1, v)) * 80)}px;background:${iiaColor(v)}"></span>`,
        )
      : "";
  return html`<table class="families">
<thead><tr><th>family</th><th class="num sorted">IIA</th><th class="num">n</th><th></th></tr></thead>
<tbody>
${rows.map(([f, x]) => html`<tr data-family="${f}"><td class="name">${f}</td><td class="num">${fmt(x.accuracy)}</td><td class="num">${x.n}</td><td>${bar(x.accuracy)}</td></tr>\n`)}<tr class="reference"><td>all</td><td class="num">${fmt(iia.accuracy)}</td><td class="num">${iia.n}</td><td>${bar(iia.accuracy)}</td></tr>
</tbody></table>`;
};

type Verdict = "lower" | "agrees" | null;

const controlRow = (
  key: string,
  label: string,
  train: number | null,
  value: number,
  reference: number,
  want: Verdict,
): Html => {
  const delta = value - reference;
  const ok = Number.isFinite(delta)
    ? want === "lower"
      ? delta <= -CONTROL_MARGIN
      : delta >= -CONTROL_MARGIN
    : null;
  const reading =
    ok === null
      ? html`<span class="no">—</span>`
      : want === "lower"
        ? ok
          ? html`<span class="yes">clearly lower</span>`
          : html`<span class="bad">not clearly lower</span>`
        : key === "full"
          ? ok
            ? html`<span class="yes">agrees</span>`
            : html`<span class="bad">subspace beats the full component</span>`
          : ok
            ? html`<span class="yes">generalizes</span>`
            : html`<span class="bad">drops</span>`;
  return html`<tr data-control="${key}"><td>${label}</td><td class="num">${fmt(train)}</td><td class="num" data-value="${String(value)}">${fmt(value)}</td><td class="num">${Number.isFinite(delta) ? `${delta >= 0 ? "+" : "−"}${fmt(Math.abs(delta))}` : "—"}</td><td>${reading}</td></tr>\n`;
};

const controlsTable = (das: NonNullable<CausalCellResult["das"]>): Html => {
  const c = das.controls;
  const ref = das.iia.test;
  const rows: Html[] = [
    html`<tr class="reference" data-control="das"><td>learned rotation (DAS)</td><td class="num">${fmt(das.iia.train)}</td><td class="num" data-value="${String(ref)}">${fmt(ref)}</td><td class="num">—</td><td>reference</td></tr>\n`,
  ];
  if (c !== null) {
    rows.push(
      controlRow(
        "random-model",
        `random-init model (seed ${c.randomModel.seed})`,
        c.randomModel.train,
        c.randomModel.test,
        ref,
        "lower",
      ),
      controlRow(
        "random-rotation",
        `random rotation (rank ${das.rank})`,
        null,
        c.randomRotation,
        ref,
        "lower",
      ),
      controlRow("full", "full component interchange", null, c.fullComponent, ref, "agrees"),
      ...Object.entries(c.heldOut).map(([f, v]) =>
        controlRow(`held-out:${f}`, `held-out family ${f}`, null, v, ref, "agrees"),
      ),
    );
  }
  const m = fmt(CONTROL_MARGIN, 2);
  return html`<table class="controls">
<thead><tr><th>alignment / control</th><th class="num">IIA train</th><th class="num">IIA test</th><th class="num">Δ vs DAS test</th><th>reading</th></tr></thead>
<tbody>
${rows}</tbody></table>
${
  c === null
    ? html`<p class="bad">No controls were run: a learned subspace's IIA alone does not show that the model uses that subspace.</p>`
    : ""
}
<p class="note">How to read: DAS trains a rotation to maximise IIA, so a high IIA on its own can come from the expressivity of the search. A subspace result is only convincing when the controls that should fail are clearly lower (a randomly initialised model, a random rotation of the same rank: here at least ${m} below the DAS test IIA) or the full-component interchange agrees (within ${m} or above); a subspace far above the full component is a warning sign of an interpretability illusion. Held-out families (not trained on) show whether the alignment generalizes. Controls with a single number are listed under "IIA test".</p>`;
};

const dasSection = (das: NonNullable<CausalCellResult["das"]>, H: (t: string) => Html): Html => {
  const boundless = das.curve.some((p) => p.size !== undefined);
  return html`${H("Distributed alignment search")}
<table class="alignment"><tbody>
<tr><th>variable</th><td class="name">${das.variable}</td></tr>
<tr><th>site</th><td class="name">${das.site}</td></tr>
<tr><th>positions</th><td class="name">${das.positions.join(", ")}</td></tr>
<tr><th>parametrization</th><td>${das.parametrization}</td></tr>
<tr><th>rank</th><td class="num">${das.rank}</td></tr>
<tr><th>size</th><td class="num">${fmtSize(das.size)}</td></tr>
</tbody></table>
${H("DAS against its controls")}
${controlsTable(das)}
${H("Training curve")}
${
  das.curve.length > 0
    ? html`<div class="figure">${raw(lossCurveSvg(das.curve, `DAS training loss${boundless ? " and learned size" : ""}`))}</div>
<p class="note">${das.curve.length} steps: the training loss${boundless ? `, and the learned subspace size Σ m of boundless DAS (right axis; final ${fmtSize(das.size)})` : ""}.</p>`
    : html`<p class="note">No training curve was recorded.</p>`
}
<p class="note">Rotation artifact: <code class="artifact">${das.artifact}</code> (relative to the results store; reload with loadRotation).</p>`;
};

/** The body of a causal cell's report section. */
export const causalCellBody = (
  r: CausalCellResult,
  headingLevel: "h2" | "h3",
  opts: { readonly seconds?: number } = {},
): Html => {
  const H = (text: string) => raw(`<${headingLevel}>${esc(text)}</${headingLevel}>`);
  const { iia, sweep, das } = r;
  const cards = [
    card("method", r.method, true),
    card("model", `${r.model.name} · ${r.model.nLayers}L × ${r.model.nHeads}H`, true),
    card("task / family", `${r.task.name} · ${r.task.family}`, true),
    card(r.task.variables.length === 1 ? "variable" : "variables", r.task.variables.join(", "), true),
    iia ? card("IIA", fmt(iia.accuracy)) : "",
    sweep
      ? html`${card("best IIA", fmt(sweep.best.iia))}${card("best at", `${sweep.best.site} @ ${sweep.best.position}`, true)}${card("MIB mean", fmt(sweep.mean))}${card("MIB max", fmt(sweep.max))}`
      : "",
    das
      ? html`${card("DAS IIA test", fmt(das.iia.test))}${card("DAS IIA train", fmt(das.iia.train))}${card("rank / size", `${das.rank} / ${fmtSize(das.size)}`)}`
      : "",
    card("examples", String(r.dataset.examples)),
    opts.seconds !== undefined ? card("seconds", fmt(opts.seconds, 1)) : "",
  ];
  const iiaPart = iia
    ? html`${H("Interchange intervention accuracy")}
${familyTable(iia)}
<p class="note">IIA of the fixed alignment: the share of ${iia.n} interchange interventions after which the model's output matches the causal model's counterfactual output; per family of counterfactual pairs, highest first.</p>`
    : "";
  let sweepPart: Html | string = "";
  if (sweep) {
    const hm = heatmapSvg(sweep);
    sweepPart = html`${H("IIA per site and position")}
<div class="figure">${raw(hm.svg)}</div>
<p class="note">IIA of interchanging ${sweep.variable} at each site (row) and position (column) of ${sweep.sites.length} × ${sweep.positions.length} alignments; colours on a fixed 0–1 scale (viridis: dark purple 0, yellow 1)${hm.labels ? "" : "; the cells are too small for labels, hover one for its value"}. The "max (MIB)" column is each site's max over positions (MIB's per-layer score); MIB reports the mean (${fmt(sweep.mean)}) and max (${fmt(sweep.max)}) of that column. The outlined cell is the best alignment: ${sweep.best.site} @ ${sweep.best.position} (${fmt(sweep.best.iia)}).</p>`;
  }
  return html`<div class="cards">
${cards.map((c) => html`${c}\n`)}</div>
${iiaPart}
${sweepPart}
${das ? dasSection(das, H) : ""}
${iia === null && sweep === null && das === null ? html`<p class="bad">This causal cell holds no IIA, sweep or DAS result.</p>` : ""}
${H("Spec")}
<pre class="spec">${prettyJson(r.spec)}</pre>
<p class="note">cell ${r.cellId} · patchbay ${r.patchbayVersion} · model weights ${r.model.weightsHash} · dataset ${r.dataset.hash} (${r.dataset.examples} examples)${opts.seconds !== undefined ? ` · ${fmt(opts.seconds, 1)} s` : ""}</p>`;
};

/** The columns of the causal summary table after the cell and spec columns. */
export const causalSummaryColumns = (
  secondsOf: (r: CausalCellResult) => number | undefined,
): SummaryColumn<CausalCellResult>[] => {
  const C = CAUSAL_COLUMNS;
  const num = (key: keyof typeof C, value: (r: CausalCellResult) => number | null | undefined) => ({
    key,
    label: C[key].label,
    title: C[key].description,
    numeric: true,
    text: (r: CausalCellResult) => fmt(value(r)),
  });
  return [
    { key: "method", label: "method", text: (r) => r.method },
    { key: "model", label: "model", text: (r) => r.model.name },
    { key: "variable", label: "variable", mono: true, text: causalVariable },
    { key: "family", label: "family", text: (r) => r.task.family },
    {
      key: "iia",
      label: "IIA / best IIA",
      title: C.iia.description,
      numeric: true,
      text: (r) => fmt(headlineIia(r)),
      tip: (r) =>
        r.iia
          ? "IIA of the fixed alignment"
          : r.sweep
            ? `best: ${r.sweep.best.site} @ ${r.sweep.best.position}`
            : "no fixed alignment or sweep",
    },
    num("mibMean", (r) => r.sweep?.mean),
    num("mibMax", (r) => r.sweep?.max),
    num("dasTest", (r) => r.das?.iia.test),
    num("randomModel", (r) => r.das?.controls?.randomModel.test),
    num("randomRotation", (r) => r.das?.controls?.randomRotation),
    num("fullComponent", (r) => r.das?.controls?.fullComponent),
    {
      key: "seconds",
      label: "seconds",
      numeric: true,
      text: (r) => fmt(secondsOf(r), 1),
    },
  ];
};

export const causalMetrics: ComparisonMetric<CausalCellResult>[] = [
  { key: "iia", label: "IIA", domain: "unit", value: (r) => headlineIia(r) ?? r.das?.iia.test },
  { key: "mibMean", label: "MIB mean", domain: "unit", value: (r) => r.sweep?.mean },
  {
    key: "randomModel",
    label: "control: random model",
    domain: "unit",
    value: (r) => r.das?.controls?.randomModel.test,
  },
  {
    key: "fullComponent",
    label: "control: full component",
    domain: "unit",
    value: (r) => r.das?.controls?.fullComponent,
  },
];
