import {
  type AttentionResult,
  AttentionSpec,
  asIssue,
  attentionPatterns,
  attentionProblem,
  type DlaResult,
  DlaSpec,
  directLogitAttribution,
  type InputAttributionResult,
  InputAttributionSpec,
  inputAttribution,
  inputAttributionProblem,
} from "@patchbay/readouts";
import { Effect, Schema } from "effect";
import { card, fmt, fmtScore, type Html, html, n2, raw } from "../../../report/html.ts";
import type { ReadoutFigures } from "../figures.ts";
import { finite, mean, readoutMethod } from "../method.ts";
import { valueHeatmapSvg } from "../../../report/heatmap.ts";
import { slotsOf } from "../data.ts";
import { tok } from "../tokens.ts";
import { attempt } from "@patchbay/core/errors";
import { CELL_ERRORS } from "../../../run/cell-errors.ts";

/** Input attribution, direct logit attribution, attention patterns and rollout. */

/**
 * The DLA component with the largest |mean contribution|: heads a{l}.h{h}, mlp{l}, embed, pos_embed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { topDlaComponent } from "@patchbay/experiments";
 *
 * const heads = [[0.1, 0, 0, 0], [0, 0, 9.5, 0]]; // [layer][head]
 * const mean = { logitDiff: 10, total: 10, embed: 0.4, posEmbed: 0, heads, attnBias: [0, 0], mlpBias: [], lnFinalBias: 0, unembedBias: 0 };
 * const dla = { kind: "dla" as const, norm: "none" as const, examples: [], mean };
 * assert.deepEqual(topDlaComponent(dla), { name: "a1.h2", value: 9.5 });
 * ```
 */
export const topDlaComponent = (r: DlaResult): { readonly name: string; readonly value: number } | null => {
  const m = r.mean;
  const terms: [string, number][] = [
    ["embed", m.embed],
    ["pos_embed", m.posEmbed],
  ];
  m.heads?.forEach((row, l) => {
    row.forEach((v, h) => {
      terms.push([`a${l}.h${h}`, v]);
    });
  });
  m.mlps?.forEach((v, l) => {
    terms.push([`mlp${l}`, v]);
  });
  let best: { name: string; value: number } | null = null;
  for (const [name, value] of terms)
    if (Number.isFinite(value) && (best === null || Math.abs(value) > Math.abs(best.value)))
      best = { name, value };
  return best;
};

export const InputAttribution = Schema.TaggedStruct("input-attribution", InputAttributionSpec.from.fields)
  .annotations({ title: "gradient, gradient × input, integrated gradients, occlusion" })
  .pipe(Schema.filter((m) => asIssue(inputAttributionProblem(m))));

const inputSection = (r: InputAttributionResult, h: (t: string) => Html): Html => {
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

export const inputAttributionMethod = readoutMethod({
  tag: "input-attribution",
  schema: InputAttribution,
  run: (p, m) =>
    Effect.gen(function* () {
      const cache = p.model.sessions;
      const model = p.model;
      const { _tag, ...s } = m;
      const slots = yield* attempt(() => slotsOf(p.data), ...CELL_ERRORS);
      const examples = slots.prompts.map((ids, i) => ({
        ids,
        positions: slots.positions[i]!,
        answers: slots.answers[i]!,
        ...(slots.wrong !== undefined ? { wrong: slots.wrong[i]! } : {}),
        ...(slots.baseline !== undefined ? { baseline: slots.baseline[i]! } : {}),
      }));
      const r = yield* inputAttribution(cache, model, s, { examples });
      return { result: r };
    }),
  figures: (r: InputAttributionResult): ReadoutFigures => {
    const ig = r.examples.flatMap((e) => (e.integratedGradients ? [e.integratedGradients.completeness] : []));
    return {
      headlineLabel: "IG completeness error (max rel.)",
      headline: ig.length === 0 ? null : Math.max(...ig.map((c) => c.relError)),
      methodExamples: r.examples.length,
      metricMean: mean(r.examples.map((e) => e.metric)),
      completenessAbsMax: ig.length === 0 ? null : Math.max(...ig.map((c) => c.absError)),
      completenessRelMax: ig.length === 0 ? null : Math.max(...ig.map((c) => c.relError)),
      completenessWarnings: ig.filter((c) => c.warning !== undefined).length,
    };
  },
  section: inputSection,
});

export const Dla = Schema.TaggedStruct("dla", DlaSpec.fields).annotations({
  title: "direct logit attribution",
});

const dlaSection = (r: DlaResult, h: (t: string) => Html): Html => {
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

export const dla = readoutMethod({
  tag: "dla",
  schema: Dla,
  run: (p, m) =>
    Effect.gen(function* () {
      const cache = p.model.sessions;
      const model = p.model;
      const { _tag, ...s } = m;
      const slots = yield* attempt(() => slotsOf(p.data), ...CELL_ERRORS);
      const r = yield* directLogitAttribution(cache, model, s, {
        prompts: slots.prompts,
        positions: slots.positions,
        answers: slots.answers,
        ...(slots.wrong !== undefined ? { wrong: slots.wrong } : {}),
      });
      return { result: r };
    }),
  figures: (r: DlaResult): ReadoutFigures => {
    const top = topDlaComponent(r);
    return {
      headlineLabel: "logit difference",
      headline: finite(r.mean.logitDiff),
      topComponent: top?.name ?? null,
      topValue: finite(top?.value),
      logitDiff: finite(r.mean.logitDiff),
      sumError: finite(Math.abs(r.mean.total - r.mean.logitDiff)),
    };
  },
  section: dlaSection,
});

export const Attention = Schema.TaggedStruct("attention", AttentionSpec.from.fields)
  .annotations({ title: "attention patterns and rollout" })
  .pipe(Schema.filter((m) => asIssue(attentionProblem(m))));

const attentionSection = (r: AttentionResult, h: (t: string) => Html): Html => {
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

export const attention = readoutMethod({
  tag: "attention",
  schema: Attention,
  run: (p, m) =>
    Effect.gen(function* () {
      const cache = p.model.sessions;
      const model = p.model;
      const { _tag, ...s } = m;
      const r = yield* attentionPatterns(cache, model, s, { prompts: p.data.prompts });
      return { result: r };
    }),
  figures: (r: AttentionResult): ReadoutFigures => {
    const ex = r.examples[0];
    const last = ex?.rollout?.at(-1)?.at(-1);
    let top: number | null = null;
    if (last !== undefined) top = last.indexOf(Math.max(...last));
    return {
      headlineLabel: "rollout: weight of the top key (last query, prompt 0)",
      headline: last === undefined || top === null ? null : finite(last[top]),
      methodExamples: r.examples.length,
      rolloutTopKey: top,
    };
  },
  section: attentionSection,
});
