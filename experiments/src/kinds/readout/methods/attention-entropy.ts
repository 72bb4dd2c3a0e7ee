import { type AttentionEntropyResult, AttentionEntropySpec, attentionEntropy } from "@patchbay/readouts";
import { Effect, Schema } from "effect";
import { valueHeatmapSvg } from "../../../report/heatmap.ts";
import { fmt, html, raw } from "../../../report/html.ts";
import { readoutMethod } from "../method.ts";

/**
 * Attention-head entropy H = −Σ_k p_k log p_k of each head's pattern (@patchbay/readouts
 * attentionEntropy), per layer × head (mean over prompts and query positions) and per position.
 */
export const AttentionEntropy = Schema.TaggedStruct(
  "attention-entropy",
  AttentionEntropySpec.fields,
).annotations({
  title: "attention-head entropy: −Σ p log p of each head's pattern, per head and query position",
});

/** The head with the lowest mean entropy (the most focused), as a{l}.h{h}. */
const sharpest = (r: AttentionEntropyResult): { readonly head: string; readonly entropy: number } | null => {
  let best: { head: string; entropy: number } | null = null;
  r.mean.forEach((row, l) => {
    row.forEach((v, h) => {
      if (Number.isFinite(v) && (best === null || v < best.entropy))
        best = { head: `a${l}.h${h}`, entropy: v };
    });
  });
  return best;
};

export const attentionEntropyMethod = readoutMethod({
  tag: "attention-entropy",
  schema: AttentionEntropy,
  run: (p, m) =>
    Effect.gen(function* () {
      const { _tag, ...s } = m;
      const result = yield* attentionEntropy(p.model.sessions, p.model, s, { prompts: p.data.prompts });
      return { result };
    }),
  figures: (r) => {
    const best = sharpest(r);
    return {
      headlineLabel: "lowest head entropy (nats)",
      headline: best?.entropy ?? null,
      methodExamples: r.prompts[0] ?? 0,
    };
  },
  section: (r, h) => {
    const hm = valueHeatmapSvg(
      {
        title: "attention entropy per head (nats; mean over prompts and query positions)",
        rows: r.mean.map((_, l) => `layer ${l}`),
        cols: (r.mean[0] ?? []).map((_, hh) => `h${hh}`),
        values: r.mean,
        legend: "entropy (nats)",
      },
      { scale: "sequential" },
    );
    const best = sharpest(r);
    return html`${h("Attention-head entropy")}
<div class="figure">${raw(hm.svg)}</div>
<p class="note">H = −Σ_k p_k log p_k over each head's attention pattern (masked keys contribute 0·log 0 = 0), averaged over ${r.prompts[0] ?? 0} prompts and their query positions; 0 is a head that attends to one key, log(q + 1) uniform attention at query q. Most focused head: ${best === null ? "—" : `${best.head} (${fmt(best.entropy)})`}.</p>`;
  },
});
