import type { HostTensor } from "../tensor/host-tensor.ts";

/**
 * Re-layouts from file conventions into canonical TransformerLens form. Every function is an
 * explicit index map; names say the source layout:
 *   "rows" sources are [out, in] (PyTorch nn.Linear, llama2.c, GGUF): y = W x, W[o, i] at o·in + i;
 *   "cols" sources are [in, out] (GPT-2 Conv1D): y = x W, W[i, o] at i·out + o.
 * `outIndex(h, j)` says which output unit of the source holds head h's dimension j, which is
 * where packing conventions (GPT-2 q|k|v, NeoX per-head q,k,v) live.
 */
export type HeadIndex = (h: number, j: number) => number;

/** Plain per-head blocks: unit h·dh + j, plus an offset (GPT-2's k starts at d, v at 2d). */
export const contiguousHeads =
  (dHead: number, offset = 0): HeadIndex =>
  (h, j) =>
    offset + h * dHead + j;

/** [a, b] → [b, a] */
export const transpose = (t: HostTensor): HostTensor => {
  const [a, b] = t.shape as [number, number];
  const out = new Float32Array(a * b);
  for (let i = 0; i < a; i++) for (let j = 0; j < b; j++) out[j * a + i] = t.data[i * b + j]!;
  return { data: out, shape: [b, a] };
};

/** W [out, in] → [H, in, dh]: result[h, i, j] = W[outIndex(h, j), i]. (W_Q, W_K, W_V) */
export const headsFromRows = (
  w: HostTensor,
  nHeads: number,
  dHead: number,
  outIndex: HeadIndex,
): HostTensor => {
  const dIn = w.shape[1]!;
  const out = new Float32Array(nHeads * dIn * dHead);
  for (let h = 0; h < nHeads; h++) {
    for (let j = 0; j < dHead; j++) {
      const row = outIndex(h, j) * dIn;
      for (let i = 0; i < dIn; i++) out[(h * dIn + i) * dHead + j] = w.data[row + i]!;
    }
  }
  return { data: out, shape: [nHeads, dIn, dHead] };
};

/** W [in, out] → [H, in, dh]: result[h, i, j] = W[i, outIndex(h, j)]. (GPT-2 c_attn) */
export const headsFromCols = (
  w: HostTensor,
  nHeads: number,
  dHead: number,
  outIndex: HeadIndex,
): HostTensor => {
  const [dIn, dOut] = w.shape as [number, number];
  const out = new Float32Array(nHeads * dIn * dHead);
  for (let h = 0; h < nHeads; h++) {
    for (let j = 0; j < dHead; j++) {
      const col = outIndex(h, j);
      for (let i = 0; i < dIn; i++) out[(h * dIn + i) * dHead + j] = w.data[i * dOut + col]!;
    }
  }
  return { data: out, shape: [nHeads, dIn, dHead] };
};

/** bias [out] → [H, dh]: result[h, j] = b[outIndex(h, j)]. */
export const headBias = (b: HostTensor, nHeads: number, dHead: number, outIndex: HeadIndex): HostTensor => {
  const out = new Float32Array(nHeads * dHead);
  for (let h = 0; h < nHeads; h++)
    for (let j = 0; j < dHead; j++) out[h * dHead + j] = b.data[outIndex(h, j)]!;
  return { data: out, shape: [nHeads, dHead] };
};

/** Output projection W [out = d, in = H·dh] → W_O [H, dh, d]: W_O[h, j, o] = W[o, h·dh + j]. */
export const outputFromRows = (w: HostTensor, nHeads: number, dHead: number): HostTensor => {
  const [d, inner] = w.shape as [number, number];
  const out = new Float32Array(nHeads * dHead * d);
  for (let o = 0; o < d; o++) for (let c = 0; c < inner; c++) out[c * d + o] = w.data[o * inner + c]!;
  return { data: out, shape: [nHeads, dHead, d] };
};

/** Output projection W [in = H·dh, out = d] → W_O [H, dh, d]: the same bytes, reshaped. */
export const outputFromCols = (w: HostTensor, nHeads: number, dHead: number): HostTensor => ({
  data: w.data,
  shape: [nHeads, dHead, w.shape[1]!],
});
