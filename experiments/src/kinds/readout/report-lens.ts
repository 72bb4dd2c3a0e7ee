import type { LensReport } from "@patchbay/readouts";
import { fmt, type Html, html, raw } from "../../report/html.ts";
import { lineChartSvg } from "../../report/line-chart.ts";

/** A lens report's section: KL per site (logit and tuned lens) and the layer × position top-token table. */

export const tokenLabel = (t: { readonly id: number; readonly token: string | null }) =>
  t.token ?? String(t.id);

export const lensSection = (r: LensReport, h: (t: string) => Html, tuned: boolean): Html => {
  const labels = r.sites.map((s) => s.replace(/^blocks\./, "").replace(/\.resid_/, "·"));
  const chart = lineChartSvg({
    title: "KL(final ‖ lens) per site",
    xs: r.sites.map((_, i) => i),
    xLabels: r.sites,
    xLabel: "site (stream order)",
    yLabel: "KL (nats)",
    series: [
      { name: "logit lens", color: "#0072B2", ys: r.kl.logit },
      ...(r.kl.tuned ? [{ name: "tuned lens", color: "#D55E00", ys: r.kl.tuned, dashed: true }] : []),
    ],
  });
  const t = r.table;
  const head = t.tokens.map(
    (x, p) => html`<th class="num" title="position ${p}">${p}: ${tokenLabel(x)}</th>`,
  );
  const cell = (c: (typeof t.final)[number]) => {
    const top = c.top[0];
    const tip = c.top.map((x) => `${tokenLabel(x)} ${fmt(x.prob, 3)}`).join(" · ");
    return html`<td class="cell" title="${tip}${Number.isFinite(c.kl) ? ` · KL ${fmt(c.kl, 3)}` : ""}">${top ? tokenLabel(top) : "—"} <span class="note">${top ? fmt(top.prob, 2) : ""}</span></td>`;
  };
  const rows = t.rows.map(
    (row) =>
      html`<tr data-site="${row.site}" data-lens="${row.lens}"><td class="name">${row.site}</td><td>${row.lens}</td>${row.cells.map(cell)}</tr>\n`,
  );
  return html`${h("KL to the final distribution per site")}
<div class="figure">${raw(chart)}</div>
<p class="note">Mean over ${r.prompts} prompts of the mean over positions of KL(p_final ‖ p_lens) at each residual site (${labels.length} sites; the last is the final residual, KL 0 by construction)${tuned ? "; the tuned lens decodes T_l(h_l) = h_l + A_l h_l + b_l, trained on other prompts than these" : ""}.</p>
${h(`Top tokens per site and position (prompt ${t.prompt})`)}
<div class="scroll"><table class="lens">
<thead><tr><th>site</th><th>lens</th>${head}</tr></thead>
<tbody>
${rows}<tr class="final"><td class="name">model output</td><td>final</td>${t.final.map(cell)}</tr>
</tbody></table></div>
<p class="note">Each cell: the top-1 token of the lens's distribution at that position and its probability (hover for the top ${t.final[0]?.top.length ?? 0} and the KL). The header row is the prompt; the last row the model's own prediction.</p>`;
};
