import { readoutFigures } from "./figures.ts";
import type { ReadoutCellResult } from "../../results/types.ts";
import { lossCurveSvg } from "../../report/charts.ts";
import { lineChartSvg } from "../../report/line-chart.ts";
import { lensSection } from "./report-lens.ts";
import { scaleColor, valueHeatmapSvg } from "../../report/heatmap.ts";
import { card, esc, fmt, fmtScore, type Html, html, n2, prettyJson, raw } from "../../report/html.ts";

/**
 * The report section of a readout cell (kind "readout"): cards, then what the method produced —
 * the lens's KL per layer and its layer × position top-token table, DLA per (layer, head) as a
 * heatmap plus the other terms, attention rollout and patterns as heatmaps, input attributions
 * as coloured tokens with the completeness check, probes per site, the steering curve and its
 * continuations, erasure before/after, neuron records coloured by activation with the
 * explanation and its scores, SAE metrics and top features — then the spec.
 */

export const READOUT_CSS = `
.tok { display: inline-block; padding: 1px 3px; margin: 1px; border-radius: 3px; font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 12px; border: 1px solid #e1e5ea; white-space: pre; }
.tokens { line-height: 1.9; margin: 4px 0 10px; }
table.lens td.cell { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 12px; white-space: nowrap; }
table.lens tr.final td { background: #eef3fb; font-weight: 600; }
.explanation { font-size: 15px; background: #fff; border-left: 4px solid #0072B2; padding: 6px 12px; margin: 10px 0; }
`;

type H = (t: string) => Html;
type Of<M extends ReadoutCellResult["method"]> = Extract<ReadoutCellResult, { method: M }>["result"];

/** A token coloured by a value on a scale (title: the exact value). */
const tok = (
  text: string,
  v: number,
  lo: number,
  hi: number,
  scale: "sequential" | "diverging",
  tip: string,
) =>
  raw(
    `<span class="tok" style="background:${scaleColor(v, lo, hi, scale)};color:${scale === "sequential" && Number.isFinite(v) && hi > lo && (v - lo) / (hi - lo) < 0.55 ? "#ffffff" : "#111111"}" title="${esc(tip)}">${esc(text)}</span>`,
  );

const dlaSection = (r: Of<"dla">, h: H): Html => {
  const m = r.mean;
  const heads = m.heads;
  const hm = heads
    ? valueHeatmapSvg(
        {
          title: "direct logit attribution per head (mean over examples)",
          rows: heads.map((_, l) => `layer ${l}`),
          cols: (heads[0] ?? []).map((_, hh) => `h${hh}`),
          values: heads,
          legend: "contribution to the logit difference",
        },
        { scale: "diverging" },
      )
    : null;
  const terms: [string, number][] = [
    ["embed", m.embed],
    ["pos_embed", m.posEmbed],
    ...m.attnBias.map((v, l): [string, number] => [`attn bias b_O, layer ${l}`, v]),
    ...(m.mlps ?? []).map((v, l): [string, number] => [`mlp ${l} (b_out included)`, v]),
    ["ln_final bias", m.lnFinalBias],
    ["unembed bias", m.unembedBias],
  ];
  return html`${h("Direct logit attribution")}
<div class="cards">${card("logit difference", fmt(m.logitDiff))}${card("Σ terms", fmt(m.total))}${card("|Σ − logit diff|", fmtScore(Math.abs(m.total - m.logitDiff)))}${card("norm", r.norm, true)}${card("examples", String(r.examples.length))}</div>
${hm ? html`<div class="figure">${raw(hm.svg)}</div>` : html`<p class="note">Heads were not requested (heads: false).</p>`}
<table class="dla-terms"><thead><tr><th>term</th><th class="num">mean contribution</th></tr></thead><tbody>
${terms.map(([k, v]) => html`<tr><td>${k}</td><td class="num">${fmtScore(v)}</td></tr>\n`)}</tbody></table>
<p class="note">Each component's output at the metric position, through the final norm's scale (frozen at its value in the run${r.norm === "none" ? "; this model has no final norm, so the terms are exact" : ""}) and the unembedding direction W_U[:, answer] − W_U[:, wrong]; the terms sum to the logit difference.</p>`;
};

const attentionSection = (r: Of<"attention">, h: H): Html => {
  const ex = r.examples[0];
  if (ex === undefined) return html`<p class="bad">No examples.</p>`;
  const labels = ex.ids.map((id, p) => `${p}:${id}`);
  const parts: Html[] = [];
  const roll = ex.rollout?.at(-1);
  if (roll) {
    const hm = valueHeatmapSvg(
      {
        title: `attention rollout after the last layer (prompt 0, residual weight ${n2(r.residualWeight)})`,
        rows: labels,
        cols: labels,
        values: roll,
        legend: "rollout weight (query row → key column)",
      },
      { range: [0, 1], scale: "sequential", maxCell: 28 },
    );
    parts.push(html`<div class="figure">${raw(hm.svg)}</div>`);
  }
  if (ex.patterns) {
    const maps = ex.patterns.flatMap((layer, l) =>
      layer.map((pat, hh) =>
        valueHeatmapSvg(
          { title: `a${l}.h${hh}`, rows: labels, cols: labels, values: pat, legend: "attention" },
          { range: [0, 1], scale: "sequential", maxCell: 14, minCell: 6, maxWidth: 420 },
        ),
      ),
    );
    const shown = maps.slice(0, 24);
    parts.push(
      html`${h("Attention patterns (prompt 0)")}<div class="row">${shown.map((m) => html`<div class="figure">${raw(m.svg)}</div>`)}</div>${maps.length > shown.length ? html`<p class="note">${shown.length} of ${maps.length} heads shown.</p>` : ""}`,
    );
  }
  return html`${h("Attention rollout")}
${parts}
<p class="note">Rollout (Abnar &amp; Zuidema 2020): Â_l = rownorm((1 − w)·mean_h A_l + w·I) with w the residual weight, composed over layers, rollout_l = Â_l ⋯ Â_0; rows are queries, columns keys, each row sums to 1. ${r.examples.length} prompts in the result; prompt 0 is drawn.</p>`;
};

const inputSection = (r: Of<"input-attribution">, h: H): Html => {
  const parts = r.examples.slice(0, 8).map((ex, e) => {
    const ig = ex.integratedGradients;
    const values =
      ig?.attributions ?? ex.gradientXInput ?? ex.occlusion?.attributions ?? ex.gradient?.norms ?? [];
    const which = ig
      ? "integrated gradients"
      : ex.gradientXInput
        ? "gradient × input"
        : ex.occlusion
          ? "occlusion"
          : "gradient norm";
    const m = Math.max(1e-12, ...values.map((v) => Math.abs(v)).filter(Number.isFinite));
    const rows: [string, readonly number[] | undefined][] = [
      ["gradient norm", ex.gradient?.norms],
      ["gradient × input", ex.gradientXInput],
      ["integrated gradients", ig?.attributions],
      ["occlusion", ex.occlusion?.attributions],
    ];
    const c = ig?.completeness;
    return html`<h4>example ${e} · F(x) = ${fmt(ex.metric, 4)}</h4>
<div class="tokens">${ex.ids.map((id, p) => tok(String(id), values[p] ?? Number.NaN, -m, m, "diverging", `position ${p}, token ${id}: ${which} ${fmtScore(values[p])}`))}</div>
<div class="scroll"><table class="attributions"><thead><tr><th>method</th>${ex.ids.map((id, p) => html`<th class="num">${p}:${id}</th>`)}</tr></thead><tbody>
${rows.filter(([, v]) => v !== undefined).map(([k, v]) => html`<tr><td>${k}</td>${v!.map((x) => html`<td class="num">${fmtScore(x)}</td>`)}</tr>\n`)}</tbody></table></div>
${c ? html`<p class="${c.warning ? "bad" : "note"}" data-completeness="${String(c.relError)}">Completeness: Σ attributions = ${fmtScore(c.total)}, F(x) − F(x′) = ${fmtScore(c.expected)}, error ${fmtScore(c.absError)} (relative ${fmtScore(c.relError)}; ${ig!.steps} steps, ${ig!.rule} rule; F(x′) = ${fmtScore(ig!.baselineMetric)}).${c.warning ? ` ${c.warning}` : ""}</p>` : ""}`;
  });
  return html`${h("Input attribution")}
<p class="note">Metric ${r.metric} attributed to ${r.site}, baseline ${r.baseline._tag}; tokens coloured by their ${r.examples[0]?.integratedGradients ? "integrated-gradients" : "first available"} attribution (red positive, blue negative, scale per example).</p>
${parts}${r.examples.length > 8 ? html`<p class="note">${8} of ${r.examples.length} examples shown.</p>` : ""}`;
};

const probeRow = (p: Of<"probe">["sites"][number]) =>
  html`<tr data-site="${p.site}"><td class="name">${p.site}${p.head !== null ? ` (head ${p.head})` : ""}</td><td class="num">${p.dim}</td><td class="num">${p.classes.length}</td><td class="num">${fmt(p.task.trainAccuracy)}</td><td class="num">${fmt(p.task.heldOutAccuracy)}</td><td class="num">${fmt(p.control?.heldOutAccuracy)}</td><td class="num">${fmt(p.selectivity)}</td><td class="num">${fmt(p.task.majorityBaseline)}</td><td class="num">${fmt(p.chance)}</td><td class="num">${p.nTrain} / ${p.nHeldOut}</td></tr>\n`;

const probeHead = html`<thead><tr><th>site</th><th class="num">dim</th><th class="num">classes</th><th class="num">train acc.</th><th class="num">held-out acc.</th><th class="num">control held-out</th><th class="num">selectivity</th><th class="num">majority</th><th class="num">chance</th><th class="num">rows train / held-out</th></tr></thead>`;

const probeSection = (r: Of<"probe">, h: H): Html => {
  const chart = lineChartSvg({
    title: "held-out accuracy per site",
    xs: r.sites.map((_, i) => i),
    xLabels: r.sites.map((s) => s.site),
    xLabel: "site",
    yLabel: "accuracy",
    series: [
      { name: "task", color: "#0072B2", ys: r.sites.map((s) => s.task.heldOutAccuracy) },
      {
        name: "control",
        color: "#D55E00",
        ys: r.sites.map((s) => s.control?.heldOutAccuracy ?? null),
        dashed: true,
      },
    ],
  });
  return html`${h("Linear probes per site")}
<table class="probes">${probeHead}<tbody>
${r.sites.map(probeRow)}</tbody></table>
${r.sites.length > 1 ? html`<div class="figure">${raw(chart)}</div>` : ""}
<p class="note">Softmax probes on the site's activations (split by prompt, seeded); control: the Hewitt–Liang control task (each word type mapped to a random label); selectivity = task held-out accuracy − control held-out accuracy. A probe is evidence the information is linearly present, not that the model uses it.</p>`;
};

const steeringSection = (r: Of<"steering">, h: H): Html => {
  const sweep = [...r.sweep].sort((a, b) => a.alpha - b.alpha);
  const chart = lineChartSvg({
    title: `${r.metricKind} vs steering strength α`,
    xs: sweep.map((p) => p.alpha),
    xLabel: "α",
    yLabel: r.metricKind,
    series: [{ name: "steered", color: "#0072B2", ys: sweep.map((p) => p.metric) }],
    reference: { y: r.clean, label: "unsteered" },
  });
  const withCont = sweep.filter((p) => p.continuations !== null);
  const nT = Math.min(4, withCont[0]?.continuations?.length ?? 0);
  const contTable =
    withCont.length > 0 && nT > 0
      ? html`${h("Greedy continuations")}<div class="scroll"><table class="continuations"><thead><tr><th class="num">α</th>${Array.from({ length: nT }, (_, i) => html`<th>target ${i}</th>`)}</tr></thead><tbody>
${withCont.map((p) => html`<tr><td class="num">${n2(p.alpha)}</td>${p.continuations!.slice(0, nT).map((c) => html`<td class="name">${c.text ?? c.ids.join(" ")}</td>`)}</tr>\n`)}</tbody></table></div>`
      : "";
  return html`${h("Steering")}
<div class="cards">${card("site", r.site, true)}${card("‖v‖", fmt(r.norm))}${card("unsteered", fmt(r.clean))}${card("targets", String(r.cleanPerExample.length))}</div>
<div class="figure">${raw(chart)}</div>
<table class="steering"><thead><tr><th class="num">α</th><th class="num">${r.metricKind}</th><th class="num">Δ vs unsteered</th></tr></thead><tbody>
${sweep.map((p) => html`<tr data-alpha="${String(p.alpha)}"><td class="num">${n2(p.alpha)}</td><td class="num">${fmt(p.metric, 4)}</td><td class="num">${fmt(p.metric - r.clean, 4)}</td></tr>\n`)}</tbody></table>
${contTable}
<p class="note">v = mean(site | positive prompts) − mean(site | negative prompts); each target runs with x′ = x + α·v at the steered positions; the metric is the batch mean over targets.</p>`;
};

const erasureSection = (r: Of<"erasure">, h: H): Html =>
  html`${h("Linear erasure")}
<div class="cards">${card("site", r.site, true)}${card("direction", r.direction, true)}${card("rank erased", String(r.rank))}${card("held-out before", fmt(r.before.task.heldOutAccuracy))}${card("old probe on erased", fmt(r.oldProbeOnErased.heldOutAccuracy))}${card("fresh probe after", fmt(r.after.task.heldOutAccuracy))}${card("chance", fmt(r.after.chance))}${card("class-mean gap", `${fmtScore(r.classMeanGap.before)} → ${fmtScore(r.classMeanGap.after)}`, true)}</div>
<table class="probes">${probeHead}<tbody>
${probeRow({ ...r.before, site: `${r.before.site} (before)` })}${probeRow({ ...r.after, site: `${r.after.site} (after erasure)` })}</tbody></table>
<p class="note">x′ = x − (x·Q)Qᵀ at the probed positions through the engine's project-out, Q an orthonormal basis of the ${r.direction === "class-means" ? "class means' span (after which every class has the same mean: no linear probe beats a constant one in expectation)" : "probe's weight span"}. A fresh probe near chance after erasure means the concept is no longer linearly decodable there.</p>`;

const neuronsSection = (r: Of<"neurons">, h: H): Html => {
  const s = r.score;
  const max = s.maxActivation > 0 ? s.maxActivation : 1;
  const recordLine = (
    rec: { readonly tokens: readonly string[]; readonly activations: readonly number[] },
    sim?: readonly number[],
  ) =>
    html`<div class="tokens">${rec.tokens.map((t, i) => tok(t, rec.activations[i] ?? Number.NaN, 0, max, "sequential", `activation ${fmtScore(rec.activations[i])}${sim ? ` · simulated ${fmt(sim[i], 2)} / 10` : ""}`))}</div>`;
  const top = r.record.most_positive_activation_records ?? [];
  const random = r.record.random_sample ?? [];
  const scoredFrom = top.length - s.scoredTop;
  return html`${h("Neuron explanation")}
<div class="cards">${card("neuron", `${r.meta.site} [${r.meta.index}]`, true)}${card("pooled score (r)", fmt(s.score.pooled.value))}${card("r top", fmt(s.score.top.value))}${card("r random", fmt(s.score.random.value))}${card("max activation", fmtScore(s.maxActivation))}${card("explainer / simulator", `${s.explainer ?? "(given)"} / ${s.simulator}`, true)}</div>
<div class="explanation">${s.explanation}</div>
<p class="note">Explain → simulate → score (OpenAI 2023): the explainer saw ${s.shown} top records; the simulator predicted ${s.scoredTop} top and ${s.scoredRandom} random records (method ${s.method}); the score is Pearson's r pooled over all their tokens.${s.score.pooled.reason ? ` Pooled r undefined: ${s.score.pooled.reason}.` : ""}</p>
${h("Top-activating records")}
${top.slice(0, 12).map((rec, i) => recordLine(rec, i >= scoredFrom ? s.simulated.top[i - scoredFrom] : undefined))}
${h("Random records")}
${random.slice(0, 8).map((rec, i) => recordLine(rec, s.simulated.random[i]))}
<p class="note">Tokens coloured by the neuron's activation on 0 … max activation (viridis); hover for the value and, on scored records, the simulated activation (0–10). ${r.meta.prompts} prompts, ${r.meta.tokens} tokens scanned; activation range ${fmtScore(r.meta.min)} … ${fmtScore(r.meta.max)}.</p>`;
};

const saeSection = (r: Of<"sae">, h: H): Html => {
  const sp = r.splice;
  const freq = r.eval.frequency.map((f, i) => ({ i, f })).sort((a, b) => b.f - a.f || a.i - b.i);
  return html`${h("Sparse autoencoder")}
<div class="cards">${card("site", r.site, true)}${card("arch / dict", `${r.arch} · ${r.d} → ${r.dictSize}`, true)}${card("L0 (held-out)", fmt(r.eval.l0, 2))}${card("FVU (held-out)", fmt(r.eval.fvu))}${card("dead features", `${r.eval.dead} (${fmt(r.eval.deadFraction * 100, 1)}%)`, true)}${sp ? html`${card("CE clean / SAE / zero", `${fmt(sp.ceClean)} / ${fmt(sp.ceSae)} / ${fmt(sp.ceZero)}`, true)}${card("CE loss recovered", fmt(sp.ceLossRecovered))}` : ""}${card("tokens train / eval", `${r.tokens.train} / ${r.tokens.eval}`, true)}</div>
<table class="sae-metrics"><thead><tr><th></th><th class="num">L0</th><th class="num">FVU</th><th class="num">MSE</th><th class="num">dead</th></tr></thead><tbody>
<tr><td>train</td><td class="num">${fmt(r.train.l0, 2)}</td><td class="num">${fmt(r.train.fvu)}</td><td class="num">${fmtScore(r.train.mse)}</td><td class="num">${r.train.dead}</td></tr>
<tr><td>held-out</td><td class="num">${fmt(r.eval.l0, 2)}</td><td class="num">${fmt(r.eval.fvu)}</td><td class="num">${fmtScore(r.eval.mse)}</td><td class="num">${r.eval.dead}</td></tr>
</tbody></table>
${
  r.history.length > 0
    ? html`${h("Training curve")}<div class="figure">${raw(
        lossCurveSvg(
          r.history.map((p) => ({ step: p.step, loss: p.loss })),
          "SAE training loss",
        ),
      )}</div>`
    : ""
}
${h("Most frequent features (held-out)")}
<table class="features"><thead><tr><th class="num">feature</th><th class="num">active on</th></tr></thead><tbody>
${freq.slice(0, 12).map((x) => html`<tr><td class="num">${x.i}</td><td class="num">${fmt(x.f * 100, 1)}%</td></tr>\n`)}</tbody></table>
<p class="note">L0: mean number of active features per token; FVU: ‖x − x̂‖² / ‖x − x̄‖²; CE loss recovered = (CE_zero − CE_SAE) / (CE_zero − CE_clean) with the SAE spliced in at the site (two passes, error term not added). Weights: <code class="artifact">${r.artifact}</code> (relative to the results store; reload with loadSae).</p>`;
};

const saeCircuitSection = (r: Of<"sae-circuit">, h: H): Html => {
  const c = r.circuit;
  const sel = c.selected;
  const chart = lineChartSvg({
    title: `feature circuit at ${c.site}: faithfulness of the top-n nodes`,
    xLabel: "nodes n",
    yLabel: "faithfulness",
    xs: c.curve.sizes,
    series: [{ name: "f(C_n)", color: "#0072B2", ys: c.curve.faithfulness }],
    reference: { y: 1, label: "full model" },
  });
  return html`${h("Sparse feature circuit")}
<div class="cards">${card("site", c.site, true)}${card("nodes", `${c.nodeCount - 1} features + error`, true)}${card("scores", c.scores, true)}${card("faithfulness area", fmt(c.area))}${card("circuit", `${sel.size} nodes · f = ${fmt(sel.faithfulness)}${sel.reached ? "" : " (target not reached)"}`, true)}${card("m(full) / m(∅)", `${fmt(c.metricFull)} / ${fmt(c.metricEmpty)}`, true)}${card("SAE FVU / L0", `${fmt(r.sae.eval.fvu)} / ${fmt(r.sae.eval.l0, 2)}`, true)}</div>
<div class="figure">${raw(chart)}</div>
<table class="circuit-nodes"><thead><tr><th class="num">rank</th><th>node</th><th class="num">score</th><th>in circuit</th></tr></thead><tbody>
${c.nodes.slice(0, 24).map((n) => html`<tr><td class="num">${n.rank}</td><td class="name">${n.node === "error" ? "error (x − x̂)" : `feature ${n.node}`}</td><td class="num">${fmt(n.score)}</td><td>${n.inGraph ? html`<span class="yes">yes</span>` : ""}</td></tr>\n`)}</tbody></table>
<p class="note">Nodes: the SAE's features and its error term at the site; C_n = the top-n nodes by |score| (${c.scores === "exact" ? "exact single-node patching" : "attribution patching"}); the site is replaced by x̂(features: clean in C, corrupted otherwise) + error (clean if in C); faithfulness f(C) = (m(C) − m(∅)) / (m(full) − m(∅)). SAE weights: <code class="artifact">${r.sae.artifact}</code>.</p>`;
};

const patchscopeSection = (r: Of<"patchscope">, h: H): Html =>
  html`${h("Patchscope")}
<div class="cards">${card("precision@1", fmt(r.precisionAt1))}${card("mean surprisal (nats)", fmt(r.meanSurprisal))}${card("examples", String(r.examples.length))}</div>
<table class="patchscope"><thead><tr><th class="num">#</th><th>top-1 at readout</th><th class="num">p</th><th class="num">expected</th><th>correct</th><th class="num">surprisal</th><th>generated</th></tr></thead><tbody>
${r.examples.slice(0, 24).map((e, i) => html`<tr><td class="num">${i}</td><td class="name">${e.top.token ?? String(e.top.id)}</td><td class="num">${fmt(e.top.prob)}</td><td class="num">${e.expected ?? "—"}</td><td>${e.correct === null ? "—" : e.correct ? html`<span class="yes">yes</span>` : html`<span class="no">no</span>`}</td><td class="num">${fmt(e.surprisal)}</td><td class="name">${e.text ?? e.generated.join(" ")}</td></tr>\n`)}</tbody></table>
<p class="note">h read at the source site and position of each source prompt, mapped, and written at the target site and position of the target prompt (a replace through the engine, re-applied on every generated token); precision@1: the readout's top-1 is the expected token.${r.examples.length > 24 ? ` 24 of ${r.examples.length} examples shown.` : ""}</p>`;

const patchscopeSweepSection = (r: Of<"patchscope-sweep">, h: H): Html => {
  const chart = lineChartSvg({
    title: `patchscope "${r.prompt}": precision@1 per source layer`,
    xs: r.layers.map((_, i) => i),
    xLabels: r.layers.map((l) => l.sourceSite),
    xLabel: "source site",
    yLabel: "fraction",
    series: [
      { name: "precision@1", color: "#0072B2", ys: r.layers.map((l) => l.precisionAt1) },
      {
        name: "agreement with the model",
        color: "#D55E00",
        ys: r.layers.map((l) => l.agreement),
        dashed: true,
      },
    ],
    reference: { y: r.modelPrecisionAt1, label: "model's own precision@1" },
  });
  return html`${h("Patchscope sweep over layers")}
<div class="figure">${raw(chart)}</div>
<table class="patchscope-sweep"><thead><tr><th>source site</th><th>target site</th><th class="num">precision@1</th><th class="num">mean surprisal</th><th class="num">agreement</th></tr></thead><tbody>
${r.layers.map((l) => html`<tr><td class="name">${l.sourceSite}</td><td class="name">${l.targetSite}</td><td class="num">${fmt(l.precisionAt1)}</td><td class="num">${fmt(l.meanSurprisal)}</td><td class="num">${fmt(l.agreement)}</td></tr>\n`)}</tbody></table>
<p class="note">${r.sources} sources patched into the inspection prompt "${r.prompt}"; agreement: the patched top-1 equals the model's own next-token prediction at the source.</p>`;
};

/** The body of a readout cell's report section. */
export const readoutCellBody = (
  r: ReadoutCellResult,
  headingLevel: "h2" | "h3",
  opts: { readonly seconds?: number } = {},
): Html => {
  const h: H = (text) => raw(`<${headingLevel}>${esc(text)}</${headingLevel}>`);
  const f = readoutFigures(r);
  let body: Html;
  switch (r.method) {
    case "logit-lens":
      body = lensSection(r.result, h, false);
      break;
    case "tuned-lens":
      body = html`${lensSection(r.result.report, h, true)}
${h("Tuned-lens training")}
<div class="figure">${raw(
        lossCurveSvg(
          r.result.curve.map((p) => ({
            step: p.step,
            loss: p.kl.reduce((a, b) => a + b, 0) / Math.max(1, p.kl.length),
          })),
          "tuned lens: mean KL over trained sites",
        ),
      )}</div>
<p class="note">Trained on ${r.result.split.train.length} prompts, evaluated on ${r.result.split.eval.length}. Translators: <code class="artifact">${r.result.artifact}</code> (relative to the results store; reload with loadTunedLens).</p>`;
      break;
    case "input-attribution":
      body = inputSection(r.result, h);
      break;
    case "dla":
      body = dlaSection(r.result, h);
      break;
    case "attention":
      body = attentionSection(r.result, h);
      break;
    case "probe":
      body = probeSection(r.result, h);
      break;
    case "steering":
      body = steeringSection(r.result, h);
      break;
    case "erasure":
      body = erasureSection(r.result, h);
      break;
    case "neurons":
      body = neuronsSection(r.result, h);
      break;
    case "sae":
      body = saeSection(r.result, h);
      break;
    case "sae-circuit":
      body = saeCircuitSection(r.result, h);
      break;
    case "patchscope":
      body = patchscopeSection(r.result, h);
      break;
    case "patchscope-sweep":
      body = patchscopeSweepSection(r.result, h);
      break;
  }
  return html`<div class="cards">
${card("method", r.method, true)}
${card("model", `${r.model.name} · ${r.model.nLayers}L × ${r.model.nHeads}H`, true)}
${card(f.headlineLabel, fmt(f.headline))}
${card("examples", String(r.dataset.examples))}
${opts.seconds !== undefined ? card("seconds", fmt(opts.seconds, 1)) : ""}
</div>
${body}
${h("Spec")}
<pre class="spec">${prettyJson(r.spec)}</pre>
<p class="note">cell ${r.cellId} · patchbay ${r.patchbayVersion} · model weights ${r.model.weightsHash} · dataset ${r.dataset.hash} (${r.dataset.examples} prompts)${opts.seconds !== undefined ? ` · ${fmt(opts.seconds, 1)} s` : ""}</p>`;
};
