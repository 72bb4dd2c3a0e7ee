/**
 * The columns of a run's table (`<results>/runs/<runId>/table.jsonl` and `table.arrow`), declared
 * once per table kind: name, type and what it means. The JSONL rows and the Arrow schema are both
 * derived from these declarations (run/tables.ts), so every run of a kind has the same columns with
 * the same types, whatever its cells computed (a column no cell fills is all null, and keeps its
 * type), and tables of different runs concatenate. After the declared columns come the run's swept
 * fields (see run/tables.ts for how their types are fixed).
 *
 * Types: int64 (counts, indices, seeds), float64 (every measured figure; null when it does not
 * exist or is not finite), utf8, bool.
 */
export type ColumnType = "int64" | "float64" | "utf8" | "bool";

/** The JavaScript value of a column type in a row (int64 as a safe integer number). */
export type ColumnValue<T extends ColumnType> = T extends "utf8"
  ? string
  : T extends "bool"
    ? boolean
    : number;

export interface ColumnDecl {
  readonly type: ColumnType;
  readonly description: string;
}

/** A column of a table: its name, type and description. */
export interface ColumnSpec extends ColumnDecl {
  readonly name: string;
}

/** A row of a declared table: one value (or null) per declared column. */
export type RowOf<D extends Readonly<Record<string, ColumnDecl>>> = {
  readonly [K in keyof D]: ColumnValue<D[K]["type"]> | null;
};

const int = (description: string) => ({ type: "int64", description }) as const;
const float = (description: string) => ({ type: "float64", description }) as const;
const text = (description: string) => ({ type: "utf8", description }) as const;

/** Every table starts with these. */
export const HEAD_COLUMNS = {
  cellId: text("the cell's content hash; its result is <results>/cells/<cellId>.json"),
  index: int("the cell's position in the run (sweep order, 0-based)"),
  kind: text("circuit | causal | readout"),
  seed: int("the cell's replicate seed"),
  model: text(
    "the model as the experiment file names it (path or builtin:…); null: the causal task's own network",
  ),
  modelName: text("the model's name (from its config)"),
  method: text("the method (its _tag in the file)"),
  examples: int("examples in the cell's dataset (prompts or pairs)"),
} as const;

/** ... and end with these (before the swept fields). */
export const TAIL_COLUMNS = {
  seconds: float("seconds the cell took when computed by this run; null when it was already in the store"),
} as const;

export const CIRCUIT_COLUMNS = {
  methodLabel: text("the method with its parameters, as discovery names it (acdc(τ=0.5, normal))"),
  ablation: text("how edges are ablated: resample | zero | mean | mean-positional"),
  metric: text("the task metric (logit-diff, …)"),
  granularity: text("head | layer"),
  selection: text(
    "how the circuit was chosen from the scores (top-n, threshold, greedy, faithful); null: the default (top 5 %) or ACDC's own",
  ),
  edges: int("edges in the circuit"),
  edgesTotal: int("edges in the layout"),
  faithfulness: float("faithfulness of the circuit on mean metrics: (m(C) − m(∅)) / (m(M) − m(∅))"),
  faithfulnessMedian: float("median per-example faithfulness"),
  faithfulnessMin: float("minimum per-example faithfulness"),
  faithfulnessMax: float("maximum per-example faithfulness"),
  metricFull: float("the metric of the full model, m(M)"),
  metricEmpty: float("the metric with every edge ablated, m(∅)"),
  metricCircuit: float("the metric of the circuit, m(C)"),
  spearman: float("Spearman correlation of the scores with exact patching on a sample of edges"),
  precision: float("precision against the builtin's ground-truth circuit"),
  recall: float("recall against the ground-truth circuit"),
  auc: float("ROC AUC of |score| against the ground-truth circuit"),
  cpr: float("MIB's CPR: area under the faithfulness curve"),
  cmd: float("MIB's CMD: area under |1 − faithfulness|"),
} as const;

export const CAUSAL_COLUMNS = {
  task: text("the causal task (induction, reverse, linear-toy)"),
  family: text("the counterfactual family of the main data"),
  iia: float(
    "interchange intervention accuracy: the alignment's (iia), the grid's best (iia-sweep) or DAS's test IIA",
  ),
  mibMean: float("iia-sweep: mean over layers of the per-layer max IIA (MIB's causal variable track)"),
  mibMax: float("iia-sweep: max over layers of the per-layer max IIA"),
  bestSite: text("iia-sweep: the site of the best grid cell"),
  bestPosition: text("iia-sweep: the position of the best grid cell"),
  dasTrain: float("DAS: IIA on the training pairs"),
  dasTest: float("DAS: IIA on the test pairs"),
  dasRank: int("DAS: the rank of the learned rotation"),
  dasSize: float("DAS: the learned subspace size (boundless: Σ m; else the rank)"),
  randomModel: float("DAS control: test IIA of the same search on a randomly initialised model"),
  randomRotation: float("DAS control: IIA of a Haar-random rotation of the same rank"),
  fullComponent: float("DAS control: IIA of the full-component interchange"),
} as const;

/**
 * The key figures of readout methods (results/readout-figures.ts): one column each, declared for
 * every method at once so that runs of different methods have the same columns (null where a
 * method has no such figure).
 */
export const READOUT_FIGURE_COLUMNS = {
  sites: int("lens, probe: sites read"),
  klLogitMean: float("lens: mean KL(model ‖ logit lens) over sites before the last"),
  klLogitFirst: float("logit lens: KL at the first site"),
  klLogitPenultimate: float("logit lens: KL at the site before the last"),
  klTunedMean: float("tuned lens: mean KL(model ‖ tuned lens) over sites before the last"),
  heldOutPrompts: int("tuned lens: prompts held out for evaluation"),
  methodExamples: int(
    "examples in the method's own result (attributed prompts, prompts drawn, patchscope pairs)",
  ),
  metricMean: float("input attribution: mean metric over examples"),
  completenessAbsMax: float("integrated gradients: max |Σ attributions − (F(x) − F(x′))|"),
  completenessRelMax: float("integrated gradients: max relative completeness error"),
  completenessWarnings: int(
    "integrated gradients: examples whose completeness error is past the warning level",
  ),
  topComponent: text("DLA: the component with the largest |mean contribution|"),
  topValue: float("DLA: that component's mean contribution"),
  logitDiff: float("DLA: the mean logit difference"),
  sumError: float("DLA: |Σ components − logit difference|"),
  rolloutTopKey: int("attention: the key position with the largest rollout weight (last query, prompt 0)"),
  bestSite: text("probe, patchscope sweep: the best site"),
  heldOut: float("probe: held-out accuracy at the best site"),
  control: float("probe: the control task's held-out accuracy at the best site"),
  selectivity: float("probe: held-out accuracy minus the control's"),
  chance: float("probe, erasure: chance accuracy"),
  site: text("the site a steering, erasure, neuron or SAE method works at"),
  metricKind: text("steering: the metric"),
  clean: float("steering: the unsteered metric"),
  maxAlpha: float("steering: the largest α"),
  atMaxAlpha: float("steering: the metric at the largest α"),
  vectorNorm: float("steering: the norm of the steering vector"),
  rank: int("erasure: the rank of the erased subspace"),
  before: float("erasure: held-out probe accuracy before erasure"),
  oldProbeOnErased: float("erasure: the old probe's held-out accuracy on erased activations"),
  after: float("erasure: a fresh probe's held-out accuracy after erasure"),
  neuron: int("neurons: the unit's index at the site"),
  explanation: text("neurons: the explanation"),
  scoreTop: float("neurons: simulation score on the top records"),
  scoreRandom: float("neurons: simulation score on random records"),
  dictSize: int("SAE: dictionary size"),
  l0: float("SAE: mean active features per token"),
  fvu: float("SAE: fraction of variance unexplained"),
  deadFraction: float("SAE: fraction of features never active"),
  ceClean: float("SAE: cross-entropy of the model"),
  ceSae: float("SAE: cross-entropy with the SAE spliced in"),
  ceRecovered: float("SAE: fraction of the cross-entropy loss recovered"),
  nodes: int("SAE circuit: feature nodes scored"),
  circuitSize: int("SAE circuit: nodes in the selected circuit"),
  circuitFaithfulness: float("SAE circuit: faithfulness of the selected circuit"),
  metricFull: float("SAE circuit: the metric of the full model"),
  metricEmpty: float("SAE circuit: the metric with every node ablated"),
  errorRank: int("SAE circuit: the rank of the SAE error node"),
  meanSurprisal: float("patchscope: mean surprisal of the expected token"),
  prompt: text("patchscope sweep: the prompt"),
  modelPrecisionAt1: float("patchscope sweep: the model's own precision@1"),
} as const;

export const READOUT_COLUMNS = {
  headline: float("the one figure that best says how the readout came out (named by headlineLabel)"),
  headlineLabel: text("what headline is"),
  ...READOUT_FIGURE_COLUMNS,
} as const;

export const TABLE_KINDS = {
  circuit: { ...HEAD_COLUMNS, ...CIRCUIT_COLUMNS, ...TAIL_COLUMNS },
  causal: { ...HEAD_COLUMNS, ...CAUSAL_COLUMNS, ...TAIL_COLUMNS },
  readout: { ...HEAD_COLUMNS, ...READOUT_COLUMNS, ...TAIL_COLUMNS },
} as const;

export type TableKind = keyof typeof TABLE_KINDS;

/** The declared columns of a table kind, in order. */
export const declaredColumns = (kind: TableKind): readonly ColumnSpec[] =>
  Object.entries(TABLE_KINDS[kind]).map(([name, d]) => ({ name, ...d }));
