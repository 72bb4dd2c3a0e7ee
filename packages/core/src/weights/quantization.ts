import type { GgufHeader } from "./gguf.ts";

/**
 * How a GGUF file stores its tensors: what a researcher needs to know which weights were rounded
 * how (a Q4_K_M file is mostly Q4_K, with some tensors in Q6_K and the norms in F32).
 */
export interface Quantization {
  /** llama.cpp's name for the file's `general.file_type` ("Q4_K_M", "Q8_0"), when the file says. */
  readonly fileType?: string;
  /** How many tensors are stored in each ggml type, most common first: { Q4_K: 161, F32: 65, Q6_K: 32 }. */
  readonly counts: Readonly<Record<string, number>>;
  /** Every tensor of the file, by its own name (`blk.0.attn_q.weight`), → its ggml type ("Q4_K"). */
  readonly tensors: Readonly<Record<string, string>>;
}

/** llama.h's enum llama_ftype (LLAMA_FTYPE_MOSTLY_<name>; 0 is ALL_F32), the values files carry. */
const FILE_TYPES: Readonly<Record<number, string>> = {
  0: "F32",
  1: "F16",
  2: "Q4_0",
  3: "Q4_1",
  4: "Q4_1_SOME_F16",
  7: "Q8_0",
  8: "Q5_0",
  9: "Q5_1",
  10: "Q2_K",
  11: "Q3_K_S",
  12: "Q3_K_M",
  13: "Q3_K_L",
  14: "Q4_K_S",
  15: "Q4_K_M",
  16: "Q5_K_S",
  17: "Q5_K_M",
  18: "Q6_K",
  19: "IQ2_XXS",
  20: "IQ2_XS",
  21: "Q2_K_S",
  22: "IQ3_XS",
  23: "IQ3_XXS",
  24: "IQ1_S",
  25: "IQ4_NL",
  26: "IQ3_S",
  27: "IQ3_M",
  28: "IQ2_S",
  29: "IQ2_M",
  30: "IQ4_XS",
  31: "IQ1_M",
  32: "BF16",
  36: "TQ1_0",
  37: "TQ2_0",
  38: "MXFP4_MOE",
};

/** The types of a GGUF file's tensors, from its header table (no tensor data is read). */
export const ggufQuantization = (header: GgufHeader): Quantization => {
  const tensors: Record<string, string> = {};
  const counts = new Map<string, number>();
  for (const t of header.tensors) {
    tensors[t.name] = t.typeName;
    counts.set(t.typeName, (counts.get(t.typeName) ?? 0) + 1);
  }
  const sorted = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const ft = header.metadata["general.file_type"];
  const fileType =
    typeof ft !== "number" ? undefined : Object.hasOwn(FILE_TYPES, ft) ? FILE_TYPES[ft] : `file type ${ft}`;
  return { ...(fileType === undefined ? {} : { fileType }), counts: Object.fromEntries(sorted), tensors };
};

/** One line for people: "Q4_K_M: 161 Q4_K, 65 F32, 32 Q6_K" (without the file type when unknown). */
export const describeQuantization = (q: Omit<Quantization, "tensors">): string => {
  const counts = Object.entries(q.counts)
    .map(([type, n]) => `${n} ${type}`)
    .join(", ");
  return q.fileType === undefined ? counts : `${q.fileType}: ${counts}`;
};
