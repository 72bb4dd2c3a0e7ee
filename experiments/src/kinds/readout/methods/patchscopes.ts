import {
  type PatchscopeResult,
  PatchscopeSpec,
  patchscopeSweep,
  runPatchscope,
  type SweepResult,
  SweepSpec,
} from "@patchbay/readouts";
import { Effect, Schema } from "effect";
import { card, fmt, type Html, html, raw } from "../../../report/html.ts";
import type { ReadoutFigures } from "../figures.ts";
import { finite, readoutMethod } from "../method.ts";
import { lineChartSvg } from "../../../report/line-chart.ts";
import { expectedAt, slotsOf } from "../data.ts";
import { attempt } from "@patchbay/core/errors";
import { CELL_ERRORS } from "../../../run/cell-errors.ts";

/** Patchscopes: one source → target patch per example, or an inspection prompt swept over layers. */

export const Patchscope = Schema.TaggedStruct("patchscope", PatchscopeSpec.fields).annotations({
  title:
    "patchscope: h at (source site, position) of each source prompt written into the target prompt; a task patches clean → corrupted and expects the clean answer, texts patch each text into itself",
});

const patchscopeSection = (r: PatchscopeResult, h: (t: string) => Html): Html =>
  html`${h("Patchscope")}
<div class="cards">${card("precision@1", fmt(r.precisionAt1))}${card("mean surprisal (nats)", fmt(r.meanSurprisal))}${card("examples", String(r.examples.length))}</div>
<table class="patchscope"><thead><tr><th class="num">#</th><th>top-1 at readout</th><th class="num">p</th><th class="num">expected</th><th>correct</th><th class="num">surprisal</th><th>generated</th></tr></thead><tbody>
${r.examples.slice(0, 24).map((e, i) => html`<tr><td class="num">${i}</td><td class="name">${e.top.token ?? String(e.top.id)}</td><td class="num">${fmt(e.top.prob)}</td><td class="num">${e.expected ?? "—"}</td><td>${e.correct === null ? "—" : e.correct ? html`<span class="yes">yes</span>` : html`<span class="no">no</span>`}</td><td class="num">${fmt(e.surprisal)}</td><td class="name">${e.text ?? e.generated.join(" ")}</td></tr>\n`)}</tbody></table>
<p class="note">h read at the source site and position of each source prompt, mapped, and written at the target site and position of the target prompt (a replace through the engine, re-applied on every generated token); precision@1: the readout's top-1 is the expected token.${r.examples.length > 24 ? ` 24 of ${r.examples.length} examples shown.` : ""}</p>`;

export const patchscope = readoutMethod({
  tag: "patchscope",
  schema: Patchscope,
  run: (p, m) =>
    Effect.gen(function* () {
      const cache = p.model.sessions;
      const model = p.model;
      const { _tag, ...s } = m;
      const t = p.data.task;
      // a task: the clean prompt's h patched into the corrupted one, expecting the clean answer
      // at the readout when it is a metric position; other data: each prompt into itself
      const examples =
        t !== null
          ? t.clean.map((source, i) => ({
              source,
              target: t.corrupted[i]!,
              ...expectedAt(t, i, s.readout < 0 ? t.corrupted[i]!.length + s.readout : s.readout),
            }))
          : p.data.prompts.map((ids) => ({ source: ids, target: ids }));
      const r = yield* runPatchscope(cache, model, s, { examples });
      return { result: r };
    }),
  figures: (r: PatchscopeResult): ReadoutFigures => {
    return {
      headlineLabel: "precision@1",
      headline: finite(r.precisionAt1),
      methodExamples: r.examples.length,
      meanSurprisal: finite(r.meanSurprisal),
    };
  },
  section: patchscopeSection,
});

export const PatchscopeSweep = Schema.TaggedStruct("patchscope-sweep", SweepSpec.fields).annotations({
  title:
    "patchscope sweep: each text's last-but-one position (expected: its last token) patched into a built-in inspection prompt, per source layer (needs a tokenizer, e.g. stories260K)",
});

const patchscopeSweepSection = (r: SweepResult, h: (t: string) => Html): Html => {
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

export const patchscopeSweepMethod = readoutMethod({
  tag: "patchscope-sweep",
  schema: PatchscopeSweep,
  run: (p, m) =>
    Effect.gen(function* () {
      const cache = p.model.sessions;
      const model = p.model;
      const { _tag, ...s } = m;
      const slots = yield* attempt(() => slotsOf(p.data), ...CELL_ERRORS);
      const sources = slots.prompts.map((ids, i) => ({
        ids,
        position: slots.positions[i]!.at(-1)!,
        expected: slots.answers[i]!.at(-1)!,
      }));
      const r = yield* patchscopeSweep(cache, model, s, { sources });
      return { result: r };
    }),
  figures: (r: SweepResult): ReadoutFigures => {
    const best = [...r.layers].sort((a, b) => b.precisionAt1 - a.precisionAt1)[0];
    return {
      headlineLabel: "best precision@1 over layers",
      headline: finite(best?.precisionAt1),
      prompt: r.prompt,
      bestSite: best?.sourceSite ?? null,
      modelPrecisionAt1: finite(r.modelPrecisionAt1),
    };
  },
  section: patchscopeSweepSection,
});
