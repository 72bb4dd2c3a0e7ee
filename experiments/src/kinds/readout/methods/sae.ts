import {
  type FeatureCircuitResult,
  FeatureCircuitSpec,
  featureCircuit,
  runSae,
  type SaeResult,
  SaeSpec,
  saeFromArtifact,
} from "@patchbay/readouts";
import { Metric } from "@patchbay/core/engine";
import { attempt } from "@patchbay/core/errors";
import { Either } from "effect";
import { Effect, Schema } from "effect";
import type { CellFile } from "../../kind.ts";
import { card, fmt, fmtScore, type Html, html, raw } from "../../../report/html.ts";
import type { ReadoutFigures } from "../figures.ts";
import { finite, need, readoutMethod } from "../method.ts";
import { lossCurveSvg } from "../../../report/charts.ts";
import { lineChartSvg } from "../../../report/line-chart.ts";
import { CELL_ERRORS } from "../../../run/cell-errors.ts";

/** Sparse autoencoders (train, evaluate, splice) and sparse feature circuits on a task. */

/** SaeResult with the weights moved to `artifact` (relative to the results store; loadSae). */
export type SaeOutput = Omit<SaeResult, "sae"> & { readonly artifact: string };

export interface SaeCircuitOutput {
  readonly sae: SaeOutput;
  readonly circuit: FeatureCircuitResult;
}

export const Sae = Schema.TaggedStruct("sae", SaeSpec.fields).annotations({
  title: "sparse autoencoder: train, evaluate, splice (CE loss recovered)",
});

const saeSection = (r: SaeOutput, h: (t: string) => Html): Html => {
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

export const sae = readoutMethod({
  tag: "sae",
  schema: Sae,
  seed: ["train", "seed"],
  run: (p, m) =>
    Effect.gen(function* () {
      const cache = p.model.sessions;
      const model = p.model;
      const files: CellFile[] = [];
      const artifacts = `artifacts/${p.cellId}`;

      const { _tag, ...s } = m;
      const { sae, ...r } = yield* runSae(cache, model, s, { prompts: p.data.prompts });
      // the artifact must read back (a defect of the writer otherwise)
      yield* attempt(() => Either.getOrThrow(saeFromArtifact(sae)), ...CELL_ERRORS);
      const artifact = `${artifacts}/sae.json`;
      files.push({ path: artifact, content: `${JSON.stringify(sae)}\n` });
      return { result: { ...r, artifact }, files };
    }),
  figures: (r: SaeOutput): ReadoutFigures => {
    return {
      headlineLabel: "CE loss recovered",
      headline: finite(r.splice?.ceLossRecovered),
      site: r.site,
      dictSize: r.dictSize,
      l0: finite(r.eval.l0),
      fvu: finite(r.eval.fvu),
      deadFraction: finite(r.eval.deadFraction),
      ceClean: finite(r.splice?.ceClean),
      ceSae: finite(r.splice?.ceSae),
      ceRecovered: finite(r.splice?.ceLossRecovered),
    };
  },
  section: saeSection,
});

export const SaeCircuit = Schema.TaggedStruct("sae-circuit", {
  ...SaeSpec.fields,
  splice: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  ...FeatureCircuitSpec.fields,
  metric: Schema.optionalWith(Metric, { default: () => ({ kind: "logit-diff" as const }) }),
}).annotations({
  title:
    "sparse feature circuit: an SAE trained at the site, its features and error term as nodes scored on the task (clean vs corrupted), faithfulness of the top-n nodes",
});

const saeCircuitSection = (r: SaeCircuitOutput, h: (t: string) => Html): Html => {
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

export const saeCircuit = readoutMethod({
  tag: "sae-circuit",
  schema: SaeCircuit,
  seed: ["train", "seed"],
  run: (p, m, spec) =>
    Effect.gen(function* () {
      const cache = p.model.sessions;
      const model = p.model;
      const files: CellFile[] = [];
      const artifacts = `artifacts/${p.cellId}`;

      const { _tag, metric, scores, sizes, selection, circuitsPerRun, ...s } = m;
      const t = yield* attempt(
        () =>
          need(p.data.task, "data", "a builtin task (clean/corrupted pairs) for the circuit", spec.data.kind),
        ...CELL_ERRORS,
      );
      // the SAE is trained (and evaluated) on the task's clean prompts, the circuit scored on the pairs
      const { sae: art, ...r } = yield* runSae(cache, model, s, { prompts: p.data.prompts });
      const sae = yield* attempt(() => Either.getOrThrow(saeFromArtifact(art)), ...CELL_ERRORS);
      const artifact = `${artifacts}/sae.json`;
      files.push({ path: artifact, content: `${JSON.stringify(art)}\n` });
      const circuit = yield* featureCircuit(
        cache,
        model,
        sae,
        { positions: s.positions, metric, scores, sizes, selection, circuitsPerRun },
        {
          clean: t.clean,
          corrupted: t.corrupted,
          metric: { positions: t.positions, answers: t.answers, wrong: t.wrong },
        },
      );
      return { result: { sae: { ...r, artifact }, circuit }, files };
    }),
  figures: (r: SaeCircuitOutput): ReadoutFigures => {
    const c = r.circuit;
    return {
      headlineLabel: "faithfulness curve area",
      headline: finite(c.area),
      site: c.site,
      dictSize: r.sae.dictSize,
      fvu: finite(r.sae.eval.fvu),
      nodes: c.nodeCount,
      circuitSize: c.selected.size,
      circuitFaithfulness: finite(c.selected.faithfulness),
      metricFull: finite(c.metricFull),
      metricEmpty: finite(c.metricEmpty),
      errorRank: c.nodes.find((n) => n.node === "error")?.rank ?? null,
    };
  },
  section: saeCircuitSection,
});
