import type { CellEnvelope } from "../../results/envelope.ts";

/**
 * The result of one circuit-discovery cell, as written to the results store (JSON, keys in a fixed
 * order so the same cell gives byte-identical files; timestamps live only in the manifest): the
 * envelope (results/envelope.ts, no `kind`), then the circuit.
 */
export interface CellResult extends CellEnvelope {
  /** every edge of the layout, in layout order: name, score (null when unscored), in the circuit */
  readonly edges: readonly {
    readonly name: string;
    readonly score: number | null;
    readonly inGraph: boolean;
  }[];
  readonly metric: {
    readonly kind: string;
    readonly full: number;
    readonly empty: number;
    readonly circuit: number;
  };
  readonly faithfulness: {
    readonly mean: number;
    readonly perExample: {
      readonly mean: number;
      readonly median: number;
      readonly q25: number;
      readonly q75: number;
      readonly min: number;
      readonly max: number;
    };
  };
  /** faithfulness over circuit sizes (MIB grid), with CPR and CMD, when the spec asks for it */
  readonly curve: null | {
    readonly fractions: readonly number[];
    readonly edges: readonly number[];
    readonly faithfulness: readonly number[];
    readonly cpr: number;
    readonly cmd: number;
  };
  /** Spearman against exact patching on a sample of edges (attribution methods) */
  readonly spearmanVsExact: number | null;
  /** against a known circuit (builtins) */
  readonly truth: null | {
    readonly precision: number;
    readonly recall: number;
    readonly auc: number;
    readonly edges: readonly string[];
  };
  /**
   * the circuit as MIB / EAP-IG JSON (`Graph.from_json` reads it; every edge with its score and
   * in_graph), relative to the results store: `artifacts/<cellId>/circuit.json`; null at layer
   * granularity (MIB's format has no layer nodes)
   */
  readonly artifact: string | null;
}
