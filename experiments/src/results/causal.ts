import type { SweepResult } from "@patchbay/causal";
import type { ModelInfo } from "./model-info.ts";

/** method iia-sweep: causal's SweepResult without its example count (the cell's dataset has it). */
export type IiaGrid = Omit<SweepResult, "n">;

/**
 * The result of one causal-abstraction cell (kind "causal"), as written to the results store:
 * keys in a fixed order, no timestamps, so the same cell gives byte-identical files.
 */
export interface CausalCellResult {
  readonly kind: "causal";
  readonly patchbayVersion: string;
  readonly cellId: string;
  readonly spec: unknown;
  readonly model: ModelInfo;
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
