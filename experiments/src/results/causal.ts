/**
 * The result of one causal-abstraction cell (kind "causal"), as written to the results store:
 * keys in a fixed order, no timestamps, so the same cell gives byte-identical files.
 */
export interface IiaGrid {
  readonly variable: string;
  /** row labels: one site per row (usually one per layer) */
  readonly sites: readonly string[];
  /** column labels: position specs ("last", "3", "tok7+1") */
  readonly positions: readonly string[];
  /** [site][position] IIA */
  readonly grid: readonly (readonly number[])[];
  /** MIB's causal variable track: max over positions per layer, then mean and max over layers */
  readonly perLayer: readonly number[];
  readonly mean: number;
  readonly max: number;
  readonly best: { readonly site: string; readonly position: string; readonly iia: number };
}

export interface CausalCellResult {
  readonly kind: "causal";
  readonly patchbayVersion: string;
  readonly cellId: string;
  readonly spec: unknown;
  readonly model: {
    readonly name: string;
    readonly weightsHash: string;
    readonly nLayers: number;
    readonly nHeads: number;
  };
  /** hash and size of the counterfactual data (train + test + held-out) */
  readonly dataset: { readonly hash: string; readonly examples: number };
  /** "iia" | "iia-sweep" | "das" */
  readonly method: string;
  readonly task: { readonly name: string; readonly family: string; readonly variables: readonly string[] };
  /** IIA of a fixed alignment (method iia): overall and per family */
  readonly iia: null | {
    readonly accuracy: number;
    readonly n: number;
    readonly perFamily: Readonly<Record<string, { readonly accuracy: number; readonly n: number }>>;
  };
  /** method iia-sweep: the (site × position) grid the report draws as a heatmap */
  readonly sweep: IiaGrid | null;
  /** method das: the learned alignment, its IIA, the controls and the training curve */
  readonly das: null | {
    readonly variable: string;
    readonly site: string;
    readonly positions: readonly string[];
    readonly parametrization: string;
    readonly rank: number;
    /** boundless: the learned subspace size Σ m (else the rank) */
    readonly size: number;
    readonly iia: { readonly train: number; readonly test: number };
    readonly controls: null | {
      readonly randomModel: { readonly train: number; readonly test: number; readonly seed: number };
      readonly randomRotation: number;
      readonly fullComponent: number;
      readonly heldOut: Readonly<Record<string, number>>;
    };
    readonly curve: readonly { readonly step: number; readonly loss: number; readonly size?: number }[];
    /** the saved rotation, relative to the results store (reload with loadRotation) */
    readonly artifact: string;
  };
}
