import type { ModelInfo } from "../../results/types.ts";
import type { ReadoutMethod } from "./method.ts";
import type { READOUT_METHODS } from "./methods/index.ts";

/**
 * The result of one readout cell (kind "readout"), as written to the results store: keys in a
 * fixed order, no timestamps, so the same cell gives byte-identical files. `result` is the
 * readouts method's own JSON (see @patchbay/readouts), except that large trained objects (the
 * tuned lens's translators, the SAE's weights) are written as artifacts beside the result and
 * named by path. One member per method of methods/index.ts.
 */
export type ReadoutOutput = OutputOf<(typeof READOUT_METHODS)[number]>;

type OutputOf<D> =
  D extends ReadoutMethod<infer Tag, infer _S, infer R>
    ? { readonly method: Tag; readonly result: R }
    : never;

export type ReadoutCellResult = {
  readonly kind: "readout";
  readonly patchbayVersion: string;
  readonly cellId: string;
  readonly spec: unknown;
  readonly model: ModelInfo;
  /** hash and size (prompts) of the resolved dataset */
  readonly dataset: { readonly hash: string; readonly examples: number };
} & ReadoutOutput;
