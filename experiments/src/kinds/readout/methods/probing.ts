import {
  asIssue,
  erase,
  type ErasureResult,
  ErasureSpec,
  type ProbeResult,
  ProbeSpec,
  probeProblem,
  probeSites,
} from "@patchbay/readouts";
import { Effect, Schema } from "effect";
import { card, fmt, fmtScore, type Html, html, raw } from "../../../report/html.ts";
import type { ReadoutFigures } from "../figures.ts";
import { finite, need, readoutMethod } from "../method.ts";
import { lineChartSvg } from "../../../report/line-chart.ts";
import { attempt } from "@patchbay/core/errors";
import { CELL_ERRORS } from "../../../run/cell-errors.ts";

/** Linear probes with a control task, and linear erasure (project-out) checked by probes. */

export interface ProbeOutput {
  readonly sites: readonly ProbeResult[];
}

export const Probe = Schema.TaggedStruct("probe", {
  ...ProbeSpec.from.fields,
  site: Schema.Union(Schema.String, Schema.NonEmptyArray(Schema.String)).annotations({
    description: "the site probed, or a list of sites (one probe each, one capture pass)",
  }),
})
  .annotations({ title: "linear probes with a control task" })
  .pipe(Schema.filter((m) => asIssue(probeProblem(m))));

const probeRow = (p: ProbeResult) =>
  html`<tr data-site="${p.site}"><td class="name">${p.site}${p.head !== null ? ` (head ${p.head})` : ""}</td><td class="num">${p.dim}</td><td class="num">${p.classes.length}</td><td class="num">${fmt(p.task.trainAccuracy)}</td><td class="num">${fmt(p.task.heldOutAccuracy)}</td><td class="num">${fmt(p.control?.heldOutAccuracy)}</td><td class="num">${fmt(p.selectivity)}</td><td class="num">${fmt(p.task.majorityBaseline)}</td><td class="num">${fmt(p.chance)}</td><td class="num">${p.nTrain} / ${p.nHeldOut}</td></tr>\n`;

const probeHead = html`<thead><tr><th>site</th><th class="num">dim</th><th class="num">classes</th><th class="num">train acc.</th><th class="num">held-out acc.</th><th class="num">control held-out</th><th class="num">selectivity</th><th class="num">majority</th><th class="num">chance</th><th class="num">rows train / held-out</th></tr></thead>`;

const probeSection = (r: ProbeOutput, h: (t: string) => Html): Html => {
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

export const probe = readoutMethod({
  tag: "probe",
  schema: Probe,
  seed: ["seed"],
  run: (p, m, spec) =>
    Effect.gen(function* () {
      const cache = p.model.sessions;
      const model = p.model;
      const { _tag, site, ...s } = m;
      const data = yield* attempt(
        () =>
          need(
            p.data.probe,
            "data",
            "a labelled dataset for probe: {example: prev-token}",
            spec.data.kind === "example" ? spec.data.example : spec.data.kind,
          ),
        ...CELL_ERRORS,
      );
      const sites = typeof site === "string" ? [site] : [...site];
      const r = yield* probeSites(cache, model, s, sites, data);
      return { result: { sites: r } };
    }),
  figures: (r: ProbeOutput): ReadoutFigures => {
    const sites = r.sites;
    const best = [...sites].sort((a, b) => b.task.heldOutAccuracy - a.task.heldOutAccuracy)[0];
    return {
      headlineLabel: "best held-out accuracy",
      headline: finite(best?.task.heldOutAccuracy),
      sites: sites.length,
      bestSite: best?.site ?? null,
      heldOut: finite(best?.task.heldOutAccuracy),
      control: finite(best?.control?.heldOutAccuracy),
      selectivity: finite(best?.selectivity),
      chance: finite(best?.chance),
    };
  },
  section: probeSection,
});

export const Erasure = Schema.TaggedStruct("erasure", ErasureSpec.fields).annotations({
  title: "linear erasure (project-out)",
});

const erasureSection = (r: ErasureResult, h: (t: string) => Html): Html =>
  html`${h("Linear erasure")}
<div class="cards">${card("site", r.site, true)}${card("direction", r.direction, true)}${card("rank erased", String(r.rank))}${card("held-out before", fmt(r.before.task.heldOutAccuracy))}${card("old probe on erased", fmt(r.oldProbeOnErased.heldOutAccuracy))}${card("fresh probe after", fmt(r.after.task.heldOutAccuracy))}${card("chance", fmt(r.after.chance))}${card("class-mean gap", `${fmtScore(r.classMeanGap.before)} → ${fmtScore(r.classMeanGap.after)}`, true)}</div>
<table class="probes">${probeHead}<tbody>
${probeRow({ ...r.before, site: `${r.before.site} (before)` })}${probeRow({ ...r.after, site: `${r.after.site} (after erasure)` })}</tbody></table>
<p class="note">x′ = x − (x·Q)Qᵀ at the probed positions through the engine's project-out, Q an orthonormal basis of the ${r.direction === "class-means" ? "class means' span (after which every class has the same mean: no linear probe beats a constant one in expectation)" : "probe's weight span"}. A fresh probe near chance after erasure means the concept is no longer linearly decodable there.</p>`;

export const erasure = readoutMethod({
  tag: "erasure",
  schema: Erasure,
  seed: ["probe", "seed"],
  run: (p, m, spec) =>
    Effect.gen(function* () {
      const cache = p.model.sessions;
      const model = p.model;
      const { _tag, ...s } = m;
      const data = yield* attempt(
        () =>
          need(
            p.data.probe,
            "data",
            "a labelled dataset for erasure: {example: prev-token}",
            spec.data.kind === "example" ? spec.data.example : spec.data.kind,
          ),
        ...CELL_ERRORS,
      );
      const r = yield* erase(cache, model, s, data);
      return { result: r };
    }),
  figures: (r: ErasureResult): ReadoutFigures => {
    return {
      headlineLabel: "held-out accuracy after erasure",
      headline: finite(r.after.task.heldOutAccuracy),
      site: r.site,
      rank: r.rank,
      before: finite(r.before.task.heldOutAccuracy),
      oldProbeOnErased: finite(r.oldProbeOnErased.heldOutAccuracy),
      after: finite(r.after.task.heldOutAccuracy),
      chance: finite(r.after.chance),
    };
  },
  section: erasureSection,
});
