import { gguf } from "@huggingface/gguf";
import { TokenizerError } from "../errors/errors.ts";
import type { GgufMetadata } from "./gguf-vocab.ts";

/**
 * Read a local GGUF file's metadata (header only, tensor data untouched) with @huggingface/gguf.
 * Stop-gap until the weights module's own GGUF parser lands; then this should delegate to it.
 * Throws (rejects with) TokenizerError naming the file.
 */
export const readGgufMetadata = async (path: string): Promise<GgufMetadata> => {
  try {
    const { metadata } = await gguf(path, { allowLocalFile: true });
    return metadata as unknown as GgufMetadata;
  } catch (e) {
    throw new TokenizerError({
      file: path,
      field: "GGUF header",
      expected: "a readable GGUF file",
      found: e instanceof Error ? e.message : String(e),
    });
  }
};
