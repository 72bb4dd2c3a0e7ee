import { f16BitsToNumber } from "./dtype.ts";

/**
 * ggml's k-quantisations (ggml-common.h), the types of the Q4_K_M / Q5_K_M files people download:
 * super-blocks of 256 weights in sub-blocks with their own 6- or 8-bit scales.
 *
 *   Q4_K (144 B)  d, dmin (f16), scales[12] (8 × 6-bit scale + 8 × 6-bit min), qs[128] nibbles
 *                 y = d·sc_s·q − dmin·m_s            q ∈ [0, 16), sub-block s of 32
 *   Q5_K (176 B)  d, dmin, scales[12], qh[32] (bit 5), qs[128]
 *                 y = d·sc_s·q − dmin·m_s            q ∈ [0, 32)
 *   Q6_K (210 B)  ql[128] (low 4 bits), qh[64] (high 2 bits), scales[16] int8, d
 *                 y = d·sc_s·(q − 32)                q ∈ [0, 64), sub-block s of 16
 *   Q2_K (84 B)   scales[16] (low nibble scale, high nibble min), qs[64] 2-bit, d, dmin
 *                 y = d·sc_s·q − dmin·m_s            q ∈ [0, 4), sub-block s of 16
 *   Q3_K (110 B)  hmask[32] (bit 3), qs[64] (low 2 bits), scales[12] (16 × 6-bit), d
 *                 y = d·(sc_s − 32)·(q − 4·[hmask bit clear])   q ∈ [0, 4), sub-block s of 16
 *
 * Products are rounded to float32 step by step as ggml computes them in float.
 */
const f = Math.fround;
const half = (v: DataView, o: number) => f16BitsToNumber(v.getUint16(o, true));

/** Sub-block j's 6-bit (scale, min) of Q4_K/Q5_K, from the 12 packed bytes at s. */
const scaleMin = (v: DataView, s: number, j: number): [number, number] => {
  const b = (k: number) => v.getUint8(s + k);
  return j < 4
    ? [b(j) & 63, b(j + 4) & 63]
    : [(b(j + 4) & 0x0f) | ((b(j - 4) >> 6) << 4), (b(j + 4) >> 4) | ((b(j) >> 6) << 4)];
};

/** A 256-weight super-block type: `block(view, offset, out, base)` writes its weights. */
const superBlocks = (
  blockBytes: number,
  block: (v: DataView, o: number, out: Float32Array, base: number) => void,
) => ({
  blockElems: 256,
  blockBytes,
  decode: (bytes: Uint8Array): Float32Array => {
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const n = bytes.byteLength / blockBytes;
    const out = new Float32Array(n * 256);
    for (let i = 0; i < n; i++) block(v, i * blockBytes, out, i * 256);
    return out;
  },
});

/**
 * Q4_K and Q5_K share their scales: 4 groups of 64 weights, each two sub-blocks of 32; byte l of a
 * group's 32 qs bytes holds weight l (low nibble) and 32 + l (high nibble); in Q5_K bit 2g (2g + 1)
 * of qh[l] is bit 5 of weight l (32 + l) of group g.
 */
const q45k = (hasHigh: boolean) =>
  superBlocks(hasHigh ? 176 : 144, (v, o, out, base) => {
    const d = half(v, o);
    const dmin = half(v, o + 2);
    const qs = o + (hasHigh ? 48 : 16);
    for (let g = 0; g < 4; g++) {
      const [sc1, m1] = scaleMin(v, o + 4, 2 * g);
      const [sc2, m2] = scaleMin(v, o + 4, 2 * g + 1);
      const d1 = f(d * sc1);
      const d2 = f(d * sc2);
      const min1 = f(dmin * m1);
      const min2 = f(dmin * m2);
      for (let l = 0; l < 32; l++) {
        const byte = v.getUint8(qs + 32 * g + l);
        const h = hasHigh ? v.getUint8(o + 16 + l) : 0;
        const lo = (byte & 0x0f) + ((h >> (2 * g)) & 1) * 16;
        const hi = (byte >> 4) + ((h >> (2 * g + 1)) & 1) * 16;
        out[base + 64 * g + l] = f(f(d1 * lo) - min1);
        out[base + 64 * g + 32 + l] = f(f(d2 * hi) - min2);
      }
    }
  });

export const Q4_K = q45k(false);
export const Q5_K = q45k(true);

/**
 * Q6_K: two halves of 128 weights; in half n, weight l + 32k (k = 0…3, l < 32) has its low 4 bits
 * in ql[64n + l + 32·(k & 1)] (low nibble for k < 2, high for k ≥ 2), its high 2 bits at bits 2k
 * of qh[32n + l], and scale scales[8n + l/16 + 2k].
 */
export const Q6_K = superBlocks(210, (v, o, out, base) => {
  const d = half(v, o + 208);
  for (let n = 0; n < 2; n++) {
    const ql = o + 64 * n;
    const qh = o + 128 + 32 * n;
    const sc = o + 192 + 8 * n;
    for (let l = 0; l < 32; l++) {
      const h = v.getUint8(qh + l);
      for (let k = 0; k < 4; k++) {
        const low = v.getUint8(ql + l + 32 * (k & 1));
        const q = ((k < 2 ? low & 0x0f : low >> 4) | (((h >> (2 * k)) & 3) << 4)) - 32;
        out[base + 128 * n + 32 * k + l] = f(f(d * v.getInt8(sc + (l >> 4) + 2 * k)) * q);
      }
    }
  }
});

/**
 * Q2_K and Q3_K share their 2-bit layout: two halves of 128 weights; in half n, weight
 * 128n + 32k + l (k = 0…3, l < 32) has its 2 bits at bits 2k of qs[32n + l] and belongs to
 * sub-block 8n + 2k + ⌊l/16⌋ (weights in order, 16 per sub-block).
 */
const twoBits = (v: DataView, qs: number, i: number): number => {
  const n = i >> 7;
  const k = (i >> 5) & 3;
  return (v.getUint8(qs + 32 * n + (i & 31)) >> (2 * k)) & 3;
};

/** Q2_K: scales[16] at 0 (scale | min << 4), qs[64] at 16, d at 80, dmin at 82. */
export const Q2_K = superBlocks(84, (v, o, out, base) => {
  const d = half(v, o + 80);
  const dmin = half(v, o + 82);
  for (let s = 0; s < 16; s++) {
    const sc = v.getUint8(o + s);
    const dl = f(d * (sc & 0x0f));
    const ml = f(dmin * (sc >> 4));
    for (let i = 16 * s; i < 16 * s + 16; i++) out[base + i] = f(f(dl * twoBits(v, o + 16, i)) - ml);
  }
});

/**
 * Q3_K's sub-block s scale (6 bits, stored + 32) from the 12 bytes at `at`: low 4 bits in byte s
 * (s < 8, low nibble) or s − 8 (high nibble), high 2 bits at bits 2⌊s/4⌋ of byte 8 + s mod 4.
 */
const scale3 = (v: DataView, at: number, s: number): number => {
  const low = s < 8 ? v.getUint8(at + s) & 0x0f : v.getUint8(at + s - 8) >> 4;
  const high = (v.getUint8(at + 8 + (s & 3)) >> (2 * (s >> 2))) & 3;
  return (low | (high << 4)) - 32;
};

/**
 * Q3_K: hmask[32] at 0, qs[64] at 32, scales[12] at 96, d at 108. Weight 128n + 32k + l has bit 3
 * at bit 4n + k of hmask[l]; a clear bit subtracts 4 (q − 4 ∈ [−4, 0)), a set one leaves q.
 */
export const Q3_K = superBlocks(110, (v, o, out, base) => {
  const d = half(v, o + 108);
  for (let s = 0; s < 16; s++) {
    const dl = f(d * scale3(v, o + 96, s));
    for (let i = 16 * s; i < 16 * s + 16; i++) {
      const bit = (v.getUint8(o + (i & 31)) >> (4 * (i >> 7) + ((i >> 5) & 3))) & 1;
      out[base + i] = f(dl * (twoBits(v, o + 32, i) - (bit === 1 ? 0 : 4)));
    }
  }
});
