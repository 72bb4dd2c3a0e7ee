import { basename, extname } from "node:path";
import { UnsupportedError } from "../errors/errors.ts";
import { Fields } from "./fields.ts";
import { ggufTable, readGgufHeader } from "./gguf.ts";
import { mapGgufGemma2 } from "./gguf-gemma2.ts";
import { ggufLlama, ggufQwen2, vocabSize } from "./gguf-llama.ts";
import type { Mapped, TensorTable } from "./table.ts";

/**
 * How one GGUF architecture maps: its metadata (a Fields over the file's keys, which name the
 * file in every error) and its tensors onto the canonical config and weights. `name` is the
 * model's name (the file's, without .gguf).
 */
export type GgufArchitecture = (f: Fields, t: TensorTable, name: string) => Mapped;

/** general.architecture → its mapper. Adding an architecture is one line here and its mapper. */
const ARCHITECTURES: Readonly<Record<string, GgufArchitecture>> = {
  llama: ggufLlama,
  qwen2: ggufQwen2,
  gemma2: (f, t) => mapGgufGemma2(t.file, f, t, vocabSize(f, "gemma2", t)),
};

/** A GGUF file mapped onto the canonical form, by its general.architecture. */
export const mapGgufFile = (path: string): Mapped => {
  const header = readGgufHeader(path);
  const f = new Fields(path, header.metadata);
  const arch = f.str("general.architecture");
  const map = Object.hasOwn(ARCHITECTURES, arch) ? ARCHITECTURES[arch] : undefined;
  if (map === undefined) {
    throw new UnsupportedError({
      file: path,
      what: "GGUF architecture",
      expected: Object.keys(ARCHITECTURES).join(", "),
      found: arch,
    });
  }
  return map(f, ggufTable(path, header), basename(path, extname(path)));
};
