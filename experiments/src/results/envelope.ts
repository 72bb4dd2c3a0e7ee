import type { Quantization } from "@patchbay/core/weights";
import type { ModelInfo } from "./model-info.ts";

/**
 * The head every cell result starts with, in this key order (results are written byte-identically):
 * `kind` (left out for circuit cells, the default, as their specs leave it out), the patchbay
 * version, the cell id, the normalized spec, the model (name, weights hash, shape; for GGUF, its
 * quantization: file type and tensors per type), the dataset
 * (hash, size) and the method. Every kind builds its result as this envelope followed by its own
 * fields.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { Effect } from "effect";
 * import { cellEnvelope, cellIdentity, decodeExperiment, expandCells } from "@patchbay/experiments";
 * const dir = mkdtempSync(join(tmpdir(), "exp-"));
 * // a readout experiment built in code: direct logit attribution on the compiled induction model
 * const raw = { name: "doc", kind: "readout", model: "builtin:induction", data: { task: { n: 4 } }, method: { _tag: "dla" } };
 * const loaded = await Effect.runPromise(decodeExperiment(raw, join(dir, "doc.yaml")));
 * const [cell] = await Effect.runPromise(expandCells(loaded));
 * const input = { spec: cell!.spec, baseDir: loaded.baseDir };
 * const id = await Effect.runPromise(cellIdentity(input));
 * const env = cellEnvelope("readout", id, cell!.spec, { name: "builtin:induction", nLayers: 2, nHeads: 4 }, "dla");
 * assert.deepEqual(Object.keys(env).slice(0, 3), ["kind", "patchbayVersion", "cellId"]);
 * ```
 */
export const cellEnvelope = <K extends KindName>(
  kind: K,
  id: CellIdentity,
  spec: unknown,
  model: {
    readonly name: string;
    readonly nLayers: number;
    readonly nHeads: number;
    readonly quantization?: Quantization | undefined;
    readonly revision?: ModelInfo["revision"];
  },
  method: string,
): CellEnvelope & (K extends "circuit" ? unknown : { readonly kind: K }) =>
  ({
    ...(kind === "circuit" ? {} : { kind }),
    patchbayVersion: id.patchbayVersion,
    cellId: id.cellId,
    spec,
    model: {
      name: model.name,
      weightsHash: id.weightsHash,
      nLayers: model.nLayers,
      nHeads: model.nHeads,
      ...(model.quantization === undefined ? {} : { quantization: storedAs(model.quantization) }),
      // the exact commit of a hf: model, so a result names what ran
      ...(model.revision === undefined ? {} : { revision: model.revision }),
    },
    dataset: { hash: id.datasetHash, examples: id.examples },
    method,
  }) as CellEnvelope & (K extends "circuit" ? unknown : { readonly kind: K });

/** What results keep of a model's quantization: the file type and the counts (not every tensor). */
const storedAs = (q: Quantization): Omit<Quantization, "tensors"> =>
  q.fileType === undefined ? { counts: q.counts } : { fileType: q.fileType, counts: q.counts };

export interface CellEnvelope {
  readonly patchbayVersion: string;
  /** content hash of (normalized cell spec, model-weights hash, dataset hash, patchbay version) */
  readonly cellId: string;
  /** the normalized cell spec (the experiment with every sweep axis fixed) */
  readonly spec: unknown;
  readonly model: ModelInfo;
  readonly dataset: { readonly hash: string; readonly examples: number };
  readonly method: string;
}

/** The kinds of experiment (kinds/index.ts lists them): the `kind` of files, specs and results. */
export type KindName = "circuit" | "causal" | "readout";

/** A cell's identity: its id and the hashes it is made of. */
export interface CellIdentity {
  readonly cellId: string;
  readonly weightsHash: string;
  readonly datasetHash: string;
  readonly examples: number;
  readonly patchbayVersion: string;
}
