import { attentionEntropyMethod } from "./attention-entropy.ts";
import { attention, dla, inputAttributionMethod } from "./attribution.ts";
import { logitLens, tunedLens } from "./lens.ts";
import { neurons } from "./neurons.ts";
import { patchscope, patchscopeSweepMethod } from "./patchscopes.ts";
import { erasure, probe } from "./probing.ts";
import { sae, saeCircuit } from "./sae.ts";
import { steering } from "./steering.ts";

/**
 * Every readout method an experiment file can name, in the order of the file schema's union. A new
 * method: one file in this folder defining it (kinds/readout/method.ts), and its line here.
 */
export const READOUT_METHODS = [
  logitLens,
  tunedLens,
  inputAttributionMethod,
  dla,
  attention,
  probe,
  steering,
  erasure,
  neurons,
  sae,
  saeCircuit,
  patchscope,
  patchscopeSweepMethod,
  attentionEntropyMethod,
] as const;
