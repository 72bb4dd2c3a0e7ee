import { type SteeringData, type SteeringResult, SteeringSpec, steer } from "@patchbay/readouts";
import { Effect, Schema } from "effect";
import { card, fmt, type Html, html, n2, raw } from "../../../report/html.ts";
import type { ReadoutFigures } from "../figures.ts";
import { finite, need, readoutMethod } from "../method.ts";
import { lineChartSvg } from "../../../report/line-chart.ts";
import { attempt } from "@patchbay/core/errors";
import { CELL_ERRORS } from "../../../run/cell-errors.ts";

/** Difference-of-means steering over α (contrasts from a built-in dataset or a task's clean/corrupted). */

export const Steering = Schema.TaggedStruct("steering", SteeringSpec.fields).annotations({
  title: "difference-of-means steering over α",
});

const steeringSection = (r: SteeringResult, h: (t: string) => Html): Html => {
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

export const steering = readoutMethod({
  tag: "steering",
  schema: Steering,
  run: (p, m, spec) =>
    Effect.gen(function* () {
      const cache = p.model.sessions;
      const model = p.model;
      const { _tag, ...s } = m;
      const t = p.data.task;
      // a task steers the corrupted prompts toward the clean ones (v = mean clean − mean corrupted)
      const data: SteeringData | null =
        p.data.steering ??
        (t === null
          ? null
          : {
              positive: t.clean,
              negative: t.corrupted,
              targets: t.corrupted,
              metricPositions: t.positions,
              answers: t.answers,
              wrong: t.wrong,
            });
      const d = yield* attempt(
        () =>
          need(
            data,
            "data",
            "contrasts for steering: {example: induction-steering | happy-sad} or a builtin task",
            spec.data.kind,
          ),
        ...CELL_ERRORS,
      );
      const r = yield* steer(cache, model, s, d, model.tokenizer);
      return { result: r };
    }),
  figures: (r: SteeringResult): ReadoutFigures => {
    const sweep = r.sweep;
    const top = [...sweep].sort((a, b) => b.alpha - a.alpha)[0];
    return {
      headlineLabel: `metric at max α`,
      headline: finite(top?.metric),
      site: r.site,
      metricKind: r.metricKind,
      clean: finite(r.clean),
      maxAlpha: finite(top?.alpha),
      atMaxAlpha: finite(top?.metric),
      vectorNorm: finite(r.norm),
    };
  },
  section: steeringSection,
});
