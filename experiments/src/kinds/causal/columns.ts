import { float, int, text } from "../../results/table-columns.ts";

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
