import type { DlaResult } from "@patchbay/readouts";
import type { ReadoutCellResult } from "./result.ts";
import type { READOUT_FIGURE_COLUMNS, RowOf } from "../../results/table-columns.ts";

/**
 * The key figures of a readout cell, one flat record per cell: what the run table (JSONL /
 * Arrow), the CLI summary and the report's summary table show. Each method fills its own figures,
 * every one a column declared in table-columns.ts (READOUT_FIGURE_COLUMNS: the compiler checks
 * the names and value types); `headline` is the one number that best says how the readout came
 * out, with `headlineLabel` naming it.
 */
export type Figure = string | number | null;

const finite = (x: number | null | undefined): number | null =>
  x === null || x === undefined || !Number.isFinite(x) ? null : x;

const mean = (xs: readonly number[]): number | null => {
  const f = xs.filter(Number.isFinite);
  return f.length === 0 ? null : f.reduce((a, b) => a + b, 0) / f.length;
};

/** The DLA component with the largest |mean contribution|: heads a{l}.h{h}, mlp{l}, embed, pos_embed. */
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

export type ReadoutFigures = {
  readonly headlineLabel: string;
  readonly headline: number | null;
} & Partial<RowOf<typeof READOUT_FIGURE_COLUMNS>>;

export const readoutFigures = (r: ReadoutCellResult): ReadoutFigures => {
  switch (r.method) {
    case "logit-lens": {
      const kl = r.result.kl.logit;
      // the last site is the final residual (KL 0): the mean is over the others
      const inner = kl.slice(0, -1);
      return {
        headlineLabel: "mean KL (logit lens)",
        headline: mean(inner),
        sites: r.result.sites.length,
        klLogitMean: mean(inner),
        klLogitFirst: finite(kl[0]),
        klLogitPenultimate: finite(kl.at(-2)),
      };
    }
    case "tuned-lens": {
      const { logit, tuned } = r.result.report.kl;
      return {
        headlineLabel: "mean KL (tuned lens)",
        headline: mean((tuned ?? []).slice(0, -1)),
        sites: r.result.report.sites.length,
        klLogitMean: mean(logit.slice(0, -1)),
        klTunedMean: mean((tuned ?? []).slice(0, -1)),
        heldOutPrompts: r.result.split.eval.length,
      };
    }
    case "input-attribution": {
      const ig = r.result.examples.flatMap((e) =>
        e.integratedGradients ? [e.integratedGradients.completeness] : [],
      );
      return {
        headlineLabel: "IG completeness error (max rel.)",
        headline: ig.length === 0 ? null : Math.max(...ig.map((c) => c.relError)),
        methodExamples: r.result.examples.length,
        metricMean: mean(r.result.examples.map((e) => e.metric)),
        completenessAbsMax: ig.length === 0 ? null : Math.max(...ig.map((c) => c.absError)),
        completenessRelMax: ig.length === 0 ? null : Math.max(...ig.map((c) => c.relError)),
        completenessWarnings: ig.filter((c) => c.warning !== undefined).length,
      };
    }
    case "dla": {
      const top = topDlaComponent(r.result);
      return {
        headlineLabel: "logit difference",
        headline: finite(r.result.mean.logitDiff),
        topComponent: top?.name ?? null,
        topValue: finite(top?.value),
        logitDiff: finite(r.result.mean.logitDiff),
        sumError: finite(Math.abs(r.result.mean.total - r.result.mean.logitDiff)),
      };
    }
    case "attention": {
      const ex = r.result.examples[0];
      const last = ex?.rollout?.at(-1)?.at(-1);
      let top: number | null = null;
      if (last !== undefined) top = last.indexOf(Math.max(...last));
      return {
        headlineLabel: "rollout: weight of the top key (last query, prompt 0)",
        headline: last === undefined || top === null ? null : finite(last[top]),
        methodExamples: r.result.examples.length,
        rolloutTopKey: top,
      };
    }
    case "probe": {
      const sites = r.result.sites;
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
    }
    case "steering": {
      const sweep = r.result.sweep;
      const top = [...sweep].sort((a, b) => b.alpha - a.alpha)[0];
      return {
        headlineLabel: `metric at max α`,
        headline: finite(top?.metric),
        site: r.result.site,
        metricKind: r.result.metricKind,
        clean: finite(r.result.clean),
        maxAlpha: finite(top?.alpha),
        atMaxAlpha: finite(top?.metric),
        vectorNorm: finite(r.result.norm),
      };
    }
    case "erasure":
      return {
        headlineLabel: "held-out accuracy after erasure",
        headline: finite(r.result.after.task.heldOutAccuracy),
        site: r.result.site,
        rank: r.result.rank,
        before: finite(r.result.before.task.heldOutAccuracy),
        oldProbeOnErased: finite(r.result.oldProbeOnErased.heldOutAccuracy),
        after: finite(r.result.after.task.heldOutAccuracy),
        chance: finite(r.result.after.chance),
      };
    case "neurons":
      return {
        headlineLabel: "pooled score (Pearson r)",
        headline: finite(r.result.score.score.pooled.value),
        site: r.result.meta.site,
        neuron: r.result.meta.index,
        explanation: r.result.score.explanation,
        scoreTop: finite(r.result.score.score.top.value),
        scoreRandom: finite(r.result.score.score.random.value),
      };
    case "sae":
      return {
        headlineLabel: "CE loss recovered",
        headline: finite(r.result.splice?.ceLossRecovered),
        site: r.result.site,
        dictSize: r.result.dictSize,
        l0: finite(r.result.eval.l0),
        fvu: finite(r.result.eval.fvu),
        deadFraction: finite(r.result.eval.deadFraction),
        ceClean: finite(r.result.splice?.ceClean),
        ceSae: finite(r.result.splice?.ceSae),
        ceRecovered: finite(r.result.splice?.ceLossRecovered),
      };
    case "sae-circuit": {
      const c = r.result.circuit;
      return {
        headlineLabel: "faithfulness curve area",
        headline: finite(c.area),
        site: c.site,
        dictSize: r.result.sae.dictSize,
        fvu: finite(r.result.sae.eval.fvu),
        nodes: c.nodeCount,
        circuitSize: c.selected.size,
        circuitFaithfulness: finite(c.selected.faithfulness),
        metricFull: finite(c.metricFull),
        metricEmpty: finite(c.metricEmpty),
        errorRank: c.nodes.find((n) => n.node === "error")?.rank ?? null,
      };
    }
    case "patchscope":
      return {
        headlineLabel: "precision@1",
        headline: finite(r.result.precisionAt1),
        methodExamples: r.result.examples.length,
        meanSurprisal: finite(r.result.meanSurprisal),
      };
    case "patchscope-sweep": {
      const best = [...r.result.layers].sort((a, b) => b.precisionAt1 - a.precisionAt1)[0];
      return {
        headlineLabel: "best precision@1 over layers",
        headline: finite(best?.precisionAt1),
        prompt: r.result.prompt,
        bestSite: best?.sourceSite ?? null,
        modelPrecisionAt1: finite(r.result.modelPrecisionAt1),
      };
    }
  }
};
