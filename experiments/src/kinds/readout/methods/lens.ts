import {
  asIssue,
  evaluateLens,
  type LensReport,
  LensEvalSpec,
  splitPrompts,
  trainTunedLens,
  type TunedLensCurvePoint,
  TunedLensTrainSpec,
  tunedLensArtifact,
  tunedLensProblem,
} from "@patchbay/readouts";
import { InputError } from "@patchbay/core/errors";
import { Effect, Schema } from "effect";
import type { CellFile } from "../../kind.ts";
import { html, raw } from "../../../report/html.ts";
import type { ReadoutFigures } from "../figures.ts";
import { finite, mean, readoutMethod } from "../method.ts";
import { lossCurveSvg } from "../../../report/charts.ts";
import { lensSection } from "../report-lens.ts";

/** The logit lens and the tuned lens (trained translators, evaluated against the logit lens). */

export const LogitLens = Schema.TaggedStruct("logit-lens", LensEvalSpec.fields).annotations({
  title: "logit lens: KL(final ‖ lens) per layer, top tokens per layer × position",
});

export const logitLens = readoutMethod({
  tag: "logit-lens",
  schema: LogitLens,
  run: (p, m) =>
    Effect.gen(function* () {
      const cache = p.model.sessions;
      const model = p.model;
      const { _tag, ...s } = m;
      const r = yield* evaluateLens(cache, model, s, { prompts: p.data.prompts });
      return { result: r };
    }),
  figures: (r: LensReport): ReadoutFigures => {
    const kl = r.kl.logit;
    // the last site is the final residual (KL 0): the mean is over the others
    const inner = kl.slice(0, -1);
    return {
      headlineLabel: "mean KL (logit lens)",
      headline: mean(inner),
      sites: r.sites.length,
      klLogitMean: mean(inner),
      klLogitFirst: finite(kl[0]),
      klLogitPenultimate: finite(kl.at(-2)),
    };
  },
  section: (r, h) => lensSection(r, h, false),
});

export const TunedLens = Schema.TaggedStruct("tuned-lens", {
  ...TunedLensTrainSpec.from.fields,
  topK: LensEvalSpec.fields.topK,
  tablePrompt: LensEvalSpec.fields.tablePrompt,
  heldOut: Schema.optionalWith(Schema.Number.pipe(Schema.between(0, 0.9)), {
    default: () => 0.25,
  }).annotations({
    description:
      "fraction of prompts held out (seeded split) on which both lenses are evaluated; 0: evaluate on the training prompts",
  }),
})
  .annotations({ title: "tuned lens: translators trained, evaluated against the logit lens" })
  // the seed also splits the prompts when some are held out
  .pipe(Schema.filter((m) => asIssue(tunedLensProblem(m, m.heldOut > 0))));

export interface TunedLensOutput {
  readonly report: LensReport;
  readonly curve: readonly TunedLensCurvePoint[];
  readonly split: { readonly train: readonly number[]; readonly eval: readonly number[] };
  /** the saved translators, relative to the results store (reload with loadTunedLens) */
  readonly artifact: string;
}

export const tunedLens = readoutMethod({
  tag: "tuned-lens",
  schema: TunedLens,
  seed: ["seed"],
  run: (p, m) =>
    Effect.gen(function* () {
      const cache = p.model.sessions;
      const model = p.model;
      const files: CellFile[] = [];
      const artifacts = `artifacts/${p.cellId}`;

      const { _tag, topK, tablePrompt, heldOut, ...train } = m;
      const n = p.data.prompts.length;
      if (heldOut > 0 && n < 2)
        return yield* new InputError({
          field: "method.heldOut",
          expected: "0 with fewer than two prompts (none can be held out and still train)",
          found: `${heldOut} with ${n} prompt${n === 1 ? "" : "s"}`,
        });
      const split =
        heldOut > 0
          ? splitPrompts(n, heldOut, train.seed)
          : { train: p.data.prompts.map((_, i) => i), eval: p.data.prompts.map((_, i) => i) };
      const pick = (idx: readonly number[]) => idx.map((i) => p.data.prompts[i]!);
      // the cell's seed (when the file gives none) orders minibatches only when there are steps
      const trained = { ...train, seed: train.steps > 0 ? train.seed : 0 };
      const fit = yield* trainTunedLens(cache, model, trained, { prompts: pick(split.train) });
      const report = yield* evaluateLens(
        cache,
        model,
        { ...(train.sites !== undefined ? { sites: train.sites } : {}), topK, tablePrompt },
        { prompts: pick(split.eval) },
        fit.lens,
      );
      const artifact = `${artifacts}/tuned-lens.json`;
      const kl = report.sites.map((site, i) => ({ site, kl: report.kl.tuned?.[i] ?? Number.NaN }));
      const saved = tunedLensArtifact(
        fit.lens,
        kl.filter((k) => Number.isFinite(k.kl)),
      );
      files.push({ path: artifact, content: `${JSON.stringify(saved)}\n` });
      return { result: { report, curve: fit.curve, split, artifact }, files };
    }),
  figures: (r: TunedLensOutput): ReadoutFigures => {
    const { logit, tuned } = r.report.kl;
    return {
      headlineLabel: "mean KL (tuned lens)",
      headline: mean((tuned ?? []).slice(0, -1)),
      sites: r.report.sites.length,
      klLogitMean: mean(logit.slice(0, -1)),
      klTunedMean: mean((tuned ?? []).slice(0, -1)),
      heldOutPrompts: r.split.eval.length,
    };
  },
  section: (r: TunedLensOutput, h) => html`${lensSection(r.report, h, true)}
${h("Tuned-lens training")}
<div class="figure">${raw(
    lossCurveSvg(
      r.curve.map((p) => ({
        step: p.step,
        loss: p.kl.reduce((a, b) => a + b, 0) / Math.max(1, p.kl.length),
      })),
      "tuned lens: mean KL over trained sites",
    ),
  )}</div>
<p class="note">Trained on ${r.split.train.length} prompts, evaluated on ${r.split.eval.length}. Translators: <code class="artifact">${r.artifact}</code> (relative to the results store; reload with loadTunedLens).</p>`,
});
