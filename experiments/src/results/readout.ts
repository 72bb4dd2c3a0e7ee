import type {
  AttentionResult,
  DlaResult,
  ErasureResult,
  FeatureCircuitResult,
  InputAttributionResult,
  LensReport,
  NeuronRecordJson,
  PatchscopeResult,
  ProbeResult,
  RecordsMeta,
  SaeResult,
  ScoreResult,
  SteeringResult,
  SweepResult,
  TunedLensCurvePoint,
} from "@patchbay/readouts";
import type { ModelInfo } from "./model-info.ts";

/**
 * The result of one readout cell (kind "readout"), as written to the results store: keys in a
 * fixed order, no timestamps, so the same cell gives byte-identical files. `result` is the
 * readouts method's own JSON (see @patchbay/readouts), except that large trained objects (the
 * tuned lens's translators, the SAE's weights) are written as artifacts beside the result and
 * named by path.
 */
export type ReadoutOutput =
  | { readonly method: "logit-lens"; readonly result: LensReport }
  | {
      readonly method: "tuned-lens";
      readonly result: {
        readonly report: LensReport;
        readonly curve: readonly TunedLensCurvePoint[];
        readonly split: { readonly train: readonly number[]; readonly eval: readonly number[] };
        /** the saved translators, relative to the results store (reload with loadTunedLens) */
        readonly artifact: string;
      };
    }
  | { readonly method: "input-attribution"; readonly result: InputAttributionResult }
  | { readonly method: "dla"; readonly result: DlaResult }
  | { readonly method: "attention"; readonly result: AttentionResult }
  | { readonly method: "probe"; readonly result: { readonly sites: readonly ProbeResult[] } }
  | { readonly method: "steering"; readonly result: SteeringResult }
  | { readonly method: "erasure"; readonly result: ErasureResult }
  | {
      readonly method: "neurons";
      readonly result: {
        /** the NeuronRecord in neuron-explainer's JSON layout */
        readonly record: NeuronRecordJson;
        readonly meta: RecordsMeta;
        readonly score: ScoreResult;
      };
    }
  | {
      readonly method: "sae";
      /** SaeResult with the weights moved to `artifact` (relative to the results store; loadSae) */
      readonly result: Omit<SaeResult, "sae"> & { readonly artifact: string };
    }
  | {
      readonly method: "sae-circuit";
      /** the SAE (weights at `sae.artifact`) and the node-level feature circuit on the task */
      readonly result: {
        readonly sae: Omit<SaeResult, "sae"> & { readonly artifact: string };
        readonly circuit: FeatureCircuitResult;
      };
    }
  | { readonly method: "patchscope"; readonly result: PatchscopeResult }
  | { readonly method: "patchscope-sweep"; readonly result: SweepResult };

export type ReadoutCellResult = {
  readonly kind: "readout";
  readonly patchbayVersion: string;
  readonly cellId: string;
  readonly spec: unknown;
  readonly model: ModelInfo;
  /** hash and size (prompts) of the resolved dataset */
  readonly dataset: { readonly hash: string; readonly examples: number };
} & ReadoutOutput;
