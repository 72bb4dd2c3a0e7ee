import type { ModelConfig } from "../model/config.ts";
import type { Weights } from "../model/weights.ts";
import { safetensorsTable } from "./safetensors.ts";
import { WeightSink } from "./table.ts";
import { checkWeights } from "./validate.ts";

/**
 * A safetensors file that already holds canonical weight names (model/weights.ts), as patchbay
 * writes them (writeSafetensors of a model's weights), checked against `config`.
 */
export const readCanonicalWeightsSync = (file: string, config: ModelConfig): Weights => {
  const table = safetensorsTable(file);
  const sink = new WeightSink();
  for (const name of table.names()) sink.set(name, table.read(name), { file: table.file, tensor: name });
  return checkWeights({ config, sink, file: table.file });
};
