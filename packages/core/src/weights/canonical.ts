import type { ModelConfig } from "../model/config.ts";
import type { Weights } from "../model/weights.ts";
import { safetensorsTable } from "./safetensors.ts";
import { WeightSink } from "./table.ts";
import { checkWeights } from "./validate.ts";

/**
 * A safetensors file that already holds canonical weight names (model/weights.ts), as patchbay
 * writes them (writeSafetensors of a model's weights), checked against `config`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { Weights } from "@patchbay/core";
 * import "@patchbay/zoo";
 *
 * const { config, weights } = Weights.loadModelSync("builtin:induction");
 * const file = join(tmpdir(), "induction.safetensors");
 * writeFileSync(file, Weights.writeSafetensors(weights));
 * const back = Weights.readCanonicalWeightsSync(file, config);
 * assert.deepEqual(back.get("embed.W_E")?.data, weights.get("embed.W_E")?.data);
 * ```
 */
export const readCanonicalWeightsSync = (file: string, config: ModelConfig): Weights => {
  const table = safetensorsTable(file);
  const sink = new WeightSink();
  for (const name of table.names()) sink.set(name, table.read(name), { file: table.file, tensor: name });
  return checkWeights({ config, sink, file: table.file });
};
