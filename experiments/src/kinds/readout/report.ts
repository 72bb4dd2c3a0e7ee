import { card, esc, fmt, type Html, html, prettyJson, raw } from "../../report/html.ts";
import { readoutFigures } from "./methods/lookup.ts";
import { methodOf } from "./methods/lookup.ts";
import type { ReadoutCellResult } from "./result.ts";

/**
 * The report section of a readout cell (kind "readout"): cards, then what the method produced (its
 * own `section`, methods/): the lens's KL per layer and its top-token table, DLA per (layer, head) as a
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

/** The body of a readout cell's report section. */
export const readoutCellBody = (
  r: ReadoutCellResult,
  headingLevel: "h2" | "h3",
  opts: { readonly seconds?: number } = {},
): Html => {
  const h = (text: string) => raw(`<${headingLevel}>${esc(text)}</${headingLevel}>`);
  const f = readoutFigures(r);
  const body = methodOf(r).section(r.result, h);
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
