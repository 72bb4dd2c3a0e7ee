import { TokenizerError } from "../errors/errors.ts";
import { readGgufMetadata as readHeader } from "../weights/index.ts";
import type { GgufMetadata } from "./gguf-vocab.ts";

/**
 * A local GGUF file's metadata, read by the weights module's own GGUF parser (header only, tensor
 * data untouched). Any failure becomes a TokenizerError naming the file.
 */
export const readGgufMetadata = async (path: string): Promise<GgufMetadata> => {
  try {
    return readHeader(path);
  } catch (e) {
    throw new TokenizerError({
      file: path,
      field: "GGUF header",
      expected: "a readable GGUF file",
      found: e instanceof Error ? e.message : String(e),
    });
  }
};
