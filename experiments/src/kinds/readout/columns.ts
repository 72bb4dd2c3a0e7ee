import { float, int, text } from "../../results/table-columns.ts";

/**
 * The key figures of readout methods (each method's `figures`, kinds/readout/methods/): one column
 * each, declared for every method at once so that runs of different methods have the same columns
 * (null where a method has no such figure).
 */
export const READOUT_FIGURE_COLUMNS = {
  sites: int("sites", "lens, probe: sites read"),
  klLogitMean: float("mean KL, logit lens", "lens: mean KL(model ‖ logit lens) over sites before the last"),
  klLogitFirst: float("KL at first site", "logit lens: KL at the first site"),
  klLogitPenultimate: float("KL before last site", "logit lens: KL at the site before the last"),
  klTunedMean: float(
    "mean KL, tuned lens",
    "tuned lens: mean KL(model ‖ tuned lens) over sites before the last",
  ),
  heldOutPrompts: int("held-out prompts", "tuned lens: prompts held out for evaluation"),
  methodExamples: int(
    "examples in result",
    "examples in the method's own result (attributed prompts, prompts drawn, patchscope pairs)",
  ),
  metricMean: float("mean metric", "input attribution: mean metric over examples"),
  completenessAbsMax: float(
    "IG completeness error",
    "integrated gradients: max |Σ attributions − (F(x) − F(x′))|",
  ),
  completenessRelMax: float(
    "IG completeness error (rel.)",
    "integrated gradients: max relative completeness error",
  ),
  completenessWarnings: int(
    "IG warnings",
    "integrated gradients: examples whose completeness error is past the warning level",
  ),
  topComponent: text("top component", "DLA: the component with the largest |mean contribution|"),
  topValue: float("top contribution", "DLA: that component's mean contribution"),
  logitDiff: float("logit difference", "DLA: the mean logit difference"),
  sumError: float("sum error", "DLA: |Σ components − logit difference|"),
  rolloutTopKey: int(
    "rollout top key",
    "attention: the key position with the largest rollout weight (last query, prompt 0)",
  ),
  bestSite: text("best site", "probe, patchscope sweep: the best site"),
  heldOut: float("held-out accuracy", "probe: held-out accuracy at the best site"),
  control: float("control accuracy", "probe: the control task's held-out accuracy at the best site"),
  selectivity: float("selectivity", "probe: held-out accuracy minus the control's"),
  chance: float("chance", "probe, erasure: chance accuracy"),
  site: text("site", "the site a steering, erasure, neuron or SAE method works at"),
  metricKind: text("metric", "steering: the metric"),
  clean: float("unsteered", "steering: the unsteered metric"),
  maxAlpha: float("max α", "steering: the largest α"),
  atMaxAlpha: float("metric at max α", "steering: the metric at the largest α"),
  vectorNorm: float("vector norm", "steering: the norm of the steering vector"),
  rank: int("erased rank", "erasure: the rank of the erased subspace"),
  before: float("accuracy before", "erasure: held-out probe accuracy before erasure"),
  oldProbeOnErased: float(
    "old probe after",
    "erasure: the old probe's held-out accuracy on erased activations",
  ),
  after: float("new probe after", "erasure: a fresh probe's held-out accuracy after erasure"),
  neuron: int("neuron", "neurons: the unit's index at the site"),
  explanation: text("explanation", "neurons: the explanation"),
  scoreTop: float("score (top)", "neurons: simulation score on the top records"),
  scoreRandom: float("score (random)", "neurons: simulation score on random records"),
  dictSize: int("dictionary size", "SAE: dictionary size"),
  l0: float("L0", "SAE: mean active features per token"),
  fvu: float("FVU", "SAE: fraction of variance unexplained"),
  deadFraction: float("dead features", "SAE: fraction of features never active"),
  ceClean: float("CE clean", "SAE: cross-entropy of the model"),
  ceSae: float("CE with SAE", "SAE: cross-entropy with the SAE spliced in"),
  ceRecovered: float("CE recovered", "SAE: fraction of the cross-entropy loss recovered"),
  nodes: int("feature nodes", "SAE circuit: feature nodes scored"),
  circuitSize: int("circuit size", "SAE circuit: nodes in the selected circuit"),
  circuitFaithfulness: float("circuit faithfulness", "SAE circuit: faithfulness of the selected circuit"),
  metricFull: float("metric, full model", "SAE circuit: the metric of the full model"),
  metricEmpty: float("metric, all ablated", "SAE circuit: the metric with every node ablated"),
  errorRank: int("error node rank", "SAE circuit: the rank of the SAE error node"),
  meanSurprisal: float("mean surprisal", "patchscope: mean surprisal of the expected token"),
  prompt: text("prompt", "patchscope sweep: the prompt"),
  modelPrecisionAt1: float("model precision@1", "patchscope sweep: the model's own precision@1"),
} as const;

export const READOUT_COLUMNS = {
  headline: float(
    "headline",
    "the one figure that best says how the readout came out (named by headlineLabel)",
  ),
  headlineLabel: text("headline is", "what headline is"),
  ...READOUT_FIGURE_COLUMNS,
} as const;
