import type { Quantization } from "@patchbay/core/weights";

/**
 * The model a cell ran on: its name, the hash of its weights and its shape; for a GGUF file, the
 * types its tensors were stored in (llama.cpp's file type and the count of tensors per ggml type),
 * since the dequantised weights are not the original ones.
 */
export interface ModelInfo {
  readonly name: string;
  readonly weightsHash: string;
  readonly nLayers: number;
  readonly nHeads: number;
  readonly quantization?: Omit<Quantization, "tensors">;
  /** For a `hf:` model: the repository, the revision asked for and the exact commit that ran. */
  readonly revision?: { readonly repo: string; readonly requested: string; readonly commit: string };
}

/** Where a model's weights came from, beside its shape in the result envelope. */
interface Provenance {
  /** A `hf:` model's exact revision. */
  readonly revision?: ModelInfo["revision"];
  /** A GGUF file's stored types (the envelope keeps the counts, not every tensor). */
  readonly quantization?: Quantization;
}

/**
 * A model's shape for the result envelope, with its provenance when it has one: the exact commit
 * of a model from the Hub (`hf:`), the types a GGUF file stored its tensors in.
 */
export const withProvenance = <M extends object>(shape: M, model: Provenance): M & Provenance => ({
  ...shape,
  ...(model.revision === undefined ? {} : { revision: model.revision }),
  ...(model.quantization === undefined ? {} : { quantization: model.quantization }),
});
