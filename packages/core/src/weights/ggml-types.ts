import { decodeBF16, decodeF16, decodeF32, f16BitsToNumber } from "./dtype.ts";
import { Q2_K, Q3_K, Q4_K, Q5_K, Q6_K } from "./ggml-kquants.ts";

/**
 * The GGUF tensor types patchbay decodes to float32 (ggml-common.h): the float types, element by
 * element, and the legacy block quantisations, 32 weights per block with f16 scale d (and min m):
 *
 *   Q8_0  d, qs[32] int8                      y = d·q
 *   Q4_0  d, qs[16] two nibbles per byte      y = d·(q − 8),  q ∈ [0, 16)
 *   Q4_1  d, m, qs[16]                        y = d·q + m
 *   Q5_0  d, qh (u32: bit 5 of each q), qs[16] y = d·(q − 16), q ∈ [0, 32)
 *   Q5_1  d, m, qh, qs[16]                    y = d·q + m
 *
 * In a block, byte j of qs holds weight j (low nibble) and weight j + 16 (high nibble); bit j of
 * qh is bit 5 of weight j, bit j + 16 that of weight j + 16. Rows are whole blocks. The
 * k-quants Q2_K … Q6_K (256-weight super-blocks) are in ggml-kquants.ts.
 */
export interface GgmlType {
  /** elements per block (1 for the float types) */
  readonly blockElems: number;
  readonly blockBytes: number;
  /** bytes [nBlocks · blockBytes] → the nBlocks · blockElems weights */
  readonly decode: (bytes: Uint8Array) => Float32Array;
}

const floats = (bytes: number, decode: (b: Uint8Array) => Float32Array): GgmlType => ({
  blockElems: 1,
  blockBytes: bytes,
  decode,
});

/** A 32-weight block type: `at(view, block offset, j)` is weight j of the block. */
const blocks = (blockBytes: number, at: (v: DataView, o: number, j: number) => number): GgmlType => ({
  blockElems: 32,
  blockBytes,
  decode: (bytes) => {
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const n = bytes.byteLength / blockBytes;
    const out = new Float32Array(n * 32);
    for (let b = 0; b < n; b++) for (let j = 0; j < 32; j++) out[b * 32 + j] = at(v, b * blockBytes, j);
    return out;
  },
});

const half = (v: DataView, o: number) => f16BitsToNumber(v.getUint16(o, true));
/** The 4-bit part of weight j (j < 16: low nibble of qs[j]; else high nibble of qs[j − 16]). */
const nibble = (v: DataView, qs: number, j: number) => {
  const byte = v.getUint8(qs + (j & 15));
  return j < 16 ? byte & 0x0f : byte >> 4;
};
/** Weight j's 5-bit value: its nibble, with bit j of the u32 qh as bit 4. */
const five = (v: DataView, qh: number, qs: number, j: number) =>
  nibble(v, qs, j) | (((v.getUint32(qh, true) >>> j) & 1) << 4);

export const GGML_DECODED: Readonly<Record<number, GgmlType>> = {
  0: floats(4, decodeF32),
  1: floats(2, decodeF16),
  30: floats(2, decodeBF16),
  8: blocks(34, (v, o, j) => half(v, o) * v.getInt8(o + 2 + j)),
  2: blocks(18, (v, o, j) => half(v, o) * (nibble(v, o + 2, j) - 8)),
  3: blocks(20, (v, o, j) => half(v, o) * nibble(v, o + 4, j) + half(v, o + 2)),
  6: blocks(22, (v, o, j) => half(v, o) * (five(v, o + 2, o + 6, j) - 16)),
  7: blocks(24, (v, o, j) => half(v, o) * five(v, o + 4, o + 8, j) + half(v, o + 2)),
  10: Q2_K,
  11: Q3_K,
  12: Q4_K,
  13: Q5_K,
  14: Q6_K,
};

/**
 * Bytes of a tensor of a decoded type with dims `ne` (ne[0] the row length, ggml order); null for
 * a type we do not decode, NaN when the rows are not whole blocks.
 */
export const ggmlBytes = (type: number, ne: readonly number[]): number | null => {
  const t = GGML_DECODED[type];
  if (t === undefined) return null;
  if ((ne[0] ?? 1) % t.blockElems !== 0) return Number.NaN;
  return (ne.reduce((a, b) => a * b, 1) / t.blockElems) * t.blockBytes;
};

/** ggml type ids → names (ggml.h enum ggml_type), for the types GGUF files carry. */
const GGML_TYPES: Readonly<Record<number, string>> = {
  0: "F32",
  1: "F16",
  2: "Q4_0",
  3: "Q4_1",
  6: "Q5_0",
  7: "Q5_1",
  8: "Q8_0",
  9: "Q8_1",
  10: "Q2_K",
  11: "Q3_K",
  12: "Q4_K",
  13: "Q5_K",
  14: "Q6_K",
  15: "Q8_K",
  16: "IQ2_XXS",
  17: "IQ2_XS",
  18: "IQ3_XXS",
  19: "IQ1_S",
  20: "IQ4_NL",
  21: "IQ3_S",
  22: "IQ2_S",
  23: "IQ4_XS",
  24: "I8",
  25: "I16",
  26: "I32",
  27: "I64",
  28: "F64",
  29: "IQ1_M",
  30: "BF16",
};

/** The ggml name of a type id ("Q4_K"), or "ggml type N" for one we do not know. */
export const ggmlTypeName = (t: number): string =>
  Object.hasOwn(GGML_TYPES, t) ? GGML_TYPES[t]! : `ggml type ${t}`;
