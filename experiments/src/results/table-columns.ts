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
  /** a short human label (report tables) */
  readonly label: string;
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

const int = (label: string, description: string) => ({ type: "int64", label, description }) as const;
const float = (label: string, description: string) => ({ type: "float64", label, description }) as const;
const text = (label: string, description: string) => ({ type: "utf8", label, description }) as const;

/** Every table starts with these. */
export const HEAD_COLUMNS = {
  cellId: text("cell", "the cell's content hash; its result is <results>/cells/<cellId>.json"),
  index: int("index", "the cell's position in the run (sweep order, 0-based)"),
  kind: text("kind", "circuit | causal | readout"),
  seed: int("seed", "the cell's replicate seed"),
  model: text(
    "model",
    "the model as the experiment file names it (path or builtin:…); null: the causal task's own network",
  ),
  modelName: text("model name", "the model's name (from its config)"),
  method: text("method", "the method (its _tag in the file)"),
  examples: int("examples", "examples in the cell's dataset (prompts or pairs)"),
} as const;

/** ... and end with these (before the swept fields). */
export const TAIL_COLUMNS = {
  seconds: float(
    "seconds",
    "seconds the cell took when computed by this run; null when it was already in the store",
  ),
} as const;

export const CIRCUIT_COLUMNS = {
  methodLabel: text("method", "the method with its parameters, as discovery names it (acdc(τ=0.5, normal))"),
  ablation: text("ablation", "how edges are ablated: resample | zero | mean | mean-positional"),
  metric: text("metric", "the task metric (logit-diff, …)"),
  granularity: text("granularity", "head | layer"),
  selection: text(
    "selection",
    "how the circuit was chosen from the scores (top-n, threshold, greedy, faithful); null: the default (top 5 %) or ACDC's own",
  ),
  edges: int("edges in circuit", "edges in the circuit"),
  edgesTotal: int("edges", "edges in the layout"),
  faithfulness: float(
    "faithfulness",
    "faithfulness of the circuit on mean metrics: (m(C) − m(∅)) / (m(M) − m(∅))",
  ),
  faithfulnessMedian: float("median faithfulness", "median per-example faithfulness"),
  faithfulnessMin: float("min faithfulness", "minimum per-example faithfulness"),
  faithfulnessMax: float("max faithfulness", "maximum per-example faithfulness"),
  metricFull: float("metric, full model", "the metric of the full model, m(M)"),
  metricEmpty: float("metric, all ablated", "the metric with every edge ablated, m(∅)"),
  metricCircuit: float("metric, circuit", "the metric of the circuit, m(C)"),
  spearman: float(
    "ρ vs exact",
    "Spearman correlation of the scores with exact patching on a sample of edges",
  ),
  precision: float("precision", "precision against the builtin's ground-truth circuit"),
  recall: float("recall", "recall against the ground-truth circuit"),
  auc: float("AUC", "ROC AUC of |score| against the ground-truth circuit"),
  cpr: float("CPR", "MIB's CPR: area under the faithfulness curve"),
  cmd: float("CMD", "MIB's CMD: area under |1 − faithfulness|"),
} as const;

export const CAUSAL_COLUMNS = {
  task: text("task", "the causal task (induction, reverse, linear-toy)"),
  family: text("family", "the counterfactual family of the main data"),
  iia: float(
    "IIA",
    "interchange intervention accuracy: the alignment's (iia), the grid's best (iia-sweep) or DAS's test IIA",
  ),
  mibMean: float(
    "MIB mean",
    "iia-sweep: mean over layers of the per-layer max IIA (MIB's causal variable track)",
  ),
  mibMax: float("MIB max", "iia-sweep: max over layers of the per-layer max IIA"),
  bestSite: text("best site", "iia-sweep: the site of the best grid cell"),
  bestPosition: text("best position", "iia-sweep: the position of the best grid cell"),
  dasTrain: float("DAS train", "DAS: IIA on the training pairs"),
  dasTest: float("DAS test", "DAS: IIA on the test pairs"),
  dasRank: int("DAS rank", "DAS: the rank of the learned rotation"),
  dasSize: float("DAS size", "DAS: the learned subspace size (boundless: Σ m; else the rank)"),
  randomModel: float(
    "control: random model",
    "DAS control: test IIA of the same search on a randomly initialised model",
  ),
  randomRotation: float(
    "control: random rotation",
    "DAS control: IIA of a Haar-random rotation of the same rank",
  ),
  fullComponent: float("control: full component", "DAS control: IIA of the full-component interchange"),
} as const;

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

export const TABLE_KINDS = {
  circuit: { ...HEAD_COLUMNS, ...CIRCUIT_COLUMNS, ...TAIL_COLUMNS },
  causal: { ...HEAD_COLUMNS, ...CAUSAL_COLUMNS, ...TAIL_COLUMNS },
  readout: { ...HEAD_COLUMNS, ...READOUT_COLUMNS, ...TAIL_COLUMNS },
} as const;

export type TableKind = keyof typeof TABLE_KINDS;

/** The declared columns of a table kind, in order. */
export const declaredColumns = (kind: TableKind): readonly ColumnSpec[] =>
  Object.entries(TABLE_KINDS[kind]).map(([name, d]) => ({ name, ...d }));
