import type { CellEnvelope } from "../../results/envelope.ts";
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

/** The envelope (results/envelope.ts; the dataset: hash and number of prompts) and the method's output. */
export type ReadoutCellResult = CellEnvelope & { readonly kind: "readout" } & ReadoutOutput;
