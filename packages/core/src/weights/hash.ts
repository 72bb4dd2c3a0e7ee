import { createHash } from "node:crypto";
import type { Weights } from "../model/index.ts";

/**
 * sha256 over the weight tensors in name order: each name, shape and float32 bytes. The identity
 * of a model's weights wherever one is needed (result cell ids, ACDC checkpoints).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Weights } from "@patchbay/core";
 * import { inductionModel } from "@patchbay/zoo";
 *
 * const h = Weights.weightsHash(inductionModel().weights);
 * assert.match(h, /^[0-9a-f]{64}$/);
 * assert.notEqual(Weights.weightsHash(inductionModel({ vocabSize: 16 }).weights), h);
 * ```
 */
export const weightsHash = (weights: Weights): string => {
  const h = createHash("sha256");
  for (const name of [...weights.keys()].sort()) {
    const t = weights.get(name)!;
    h.update(`${name}\0${t.shape.join(",")}\0`);
    h.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  return h.digest("hex");
};
