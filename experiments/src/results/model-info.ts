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
}
