import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { f16BitsToNumber } from "./dtype.ts";
import { Q4_K, Q5_K, Q6_K } from "./ggml-kquants.ts";

const f = Math.fround;

/** Q4_K/Q5_K's 12 scale bytes from 8 six-bit scales and mins (llama.cpp's packing). */
const packScales = (sc: readonly number[], m: readonly number[]): number[] => {
  const s = Array(12).fill(0);
  for (let j = 0; j < 4; j++) {
    s[j] = sc[j]! | ((sc[j + 4]! >> 4) << 6);
    s[j + 4] = m[j]! | ((m[j + 4]! >> 4) << 6);
    s[j + 8] = (sc[j + 4]! & 15) | ((m[j + 4]! & 15) << 4);
  }
  return s;
};

/** A Q4_K (or, with 5-bit q, Q5_K) super-block from d, dmin (f16 bits), scales, mins and q[256]. */
const packQ45 = (d: number, dmin: number, sc: number[], m: number[], q: number[], five: boolean) => {
  const b = new Uint8Array(five ? 176 : 144);
  const v = new DataView(b.buffer);
  v.setUint16(0, d, true);
  v.setUint16(2, dmin, true);
  b.set(packScales(sc, m), 4);
  const qs = five ? 48 : 16;
  for (let g = 0; g < 4; g++)
    for (let l = 0; l < 32; l++) {
      const lo = q[64 * g + l]!;
      const hi = q[64 * g + 32 + l]!;
      b[qs + 32 * g + l] = (lo & 15) | ((hi & 15) << 4);
      if (five) b[16 + l]! |= ((lo >> 4) << (2 * g)) | ((hi >> 4) << (2 * g + 1));
    }
  return b;
};

/** A Q6_K super-block from d (f16 bits), 16 int8 scales and q[256] in [0, 64). */
const packQ6 = (d: number, sc: number[], q: number[]) => {
  const b = new Uint8Array(210);
  const v = new DataView(b.buffer);
  for (let n = 0; n < 2; n++)
    for (let l = 0; l < 32; l++)
      for (let k = 0; k < 4; k++) {
        const x = q[128 * n + 32 * k + l]!;
        const at = 64 * n + l + 32 * (k & 1);
        b[at]! |= k < 2 ? x & 15 : (x & 15) << 4;
        b[128 + 32 * n + l]! |= (x >> 4) << (2 * k);
      }
  b.set(new Uint8Array(Int8Array.from(sc).buffer), 192); // int8 scales
  v.setUint16(208, d, true);
  return b;
};

describe("ggml k-quantisations: hand-made super-blocks, worked out on paper", () => {
  // scales: sub-block 0 (2, min 4), 1 (3, min 1), 4 (37, min 19); d = 1, dmin = 0.5
  const sc = [2, 3, 0, 0, 37, 0, 0, 0];
  const m = [4, 1, 0, 0, 19, 0, 0, 0];

  it("the packed scale bytes are the ones worked out by hand", () => {
    // s[0] = 2 | (37 >> 4) << 6, s[4] = 4 | (19 >> 4) << 6, s[8] = (37 & 15) | (19 & 15) << 4
    expect(packScales(sc, m)).toEqual([0x82, 3, 0, 0, 0x44, 1, 0, 0, 0x35, 0, 0, 0]);
  });

  it("Q4_K: y = d·sc·q − dmin·m per 32-weight sub-block", () => {
    const b = new Uint8Array(144);
    b.set([0x00, 0x3c, 0x00, 0x38], 0); // d = 1, dmin = 0.5
    b.set([0x82, 3, 0, 0, 0x44, 1, 0, 0, 0x35, 0, 0, 0], 4);
    b[16] = 0x7a; // weight 0: q = 10; weight 32: q = 7
    b[16 + 64] = 0x01; // weight 128 (group 2, sub-block 4): q = 1
    const y = Q4_K.decode(b);
    // 2·10 − 0.5·4, 3·7 − 0.5·1, 37·1 − 0.5·19, weight 1: 2·0 − 0.5·4
    expect([y[0], y[32], y[128], y[1]]).toEqual([18, 20.5, 27.5, -2]);
  });

  it("Q5_K: the fifth bit from qh (bit 2g, 2g + 1 for group g)", () => {
    const b = new Uint8Array(176);
    b.set([0x00, 0x3c, 0x00, 0x38], 0);
    b.set([0x82, 3, 0, 0, 0x44, 1, 0, 0, 0x35, 0, 0, 0], 4);
    b[16] = 0x13; // qh[0]: bits 0, 1 (weights 0, 32) and 4 (weight 128)
    b[48] = 0x7a;
    b[48 + 64] = 0x01;
    const y = Q5_K.decode(b);
    // 2·26 − 2, 3·23 − 0.5, 37·17 − 9.5, weight 1: −2
    expect([y[0], y[32], y[128], y[1]]).toEqual([50, 68.5, 619.5, -2]);
  });

  it("Q6_K: y = d·sc·(q − 32), low 4 bits in ql, high 2 in qh, 16-weight sub-blocks", () => {
    const b = new Uint8Array(210);
    b[0] = 0x21; // weight 0 low 1, weight 64 low 2
    b[32] = 0x05; // weight 32 low 5, weight 96 low 0
    b[64] = 0x0f; // weight 128 low 15
    b[128] = 0x0b; // qh[0]: weight 0 high 3, weight 32 high 2
    b[160] = 0x03; // qh[32]: weight 128 high 3
    const sc = [2, 3, -1, 0, 4, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0];
    b.set(new Uint8Array(Int8Array.from(sc).buffer), 192); // int8 scales
    b.set([0x00, 0x38], 208); // d = 0.5
    const y = Q6_K.decode(b);
    // 0.5·2·(49 − 32), 0.5·(−1)·(37 − 32), 0.5·4·(2 − 32), 0.5·1·(0 − 32), 0.5·3·(0 − 32), 0.5·1·(63 − 32)
    expect([y[0], y[32], y[64], y[96], y[16], y[128]]).toEqual([17, -2.5, -60, -16, -48, 15.5]);
  });
});

describe("ggml k-quantisations: pack then decode equals the formula, for any scales and q", () => {
  const f16 = fc.integer({ min: 0x1400, max: 0x53ff }); // normal positive f16 in [2^-10, 2^5)
  const six = fc.array(fc.integer({ min: 0, max: 63 }), { minLength: 8, maxLength: 8 });

  it.each([
    ["Q4_K", false],
    ["Q5_K", true],
  ] as const)("%s", (_, five) => {
    fc.assert(
      fc.property(
        f16,
        f16,
        six,
        six,
        fc.array(fc.integer({ min: 0, max: five ? 31 : 15 }), { minLength: 256, maxLength: 256 }),
        (d, dmin, sc, m, q) => {
          const y = (five ? Q5_K : Q4_K).decode(packQ45(d, dmin, sc, m, q, five));
          const dd = f16BitsToNumber(d);
          const dm = f16BitsToNumber(dmin);
          for (let i = 0; i < 256; i++) {
            const s = i >> 5; // sub-block of 32
            expect(y[i]).toBe(f(f(f(dd * sc[s]!) * q[i]!) - f(dm * m[s]!)));
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it("Q6_K", () => {
    fc.assert(
      fc.property(
        f16,
        fc.array(fc.integer({ min: -128, max: 127 }), { minLength: 16, maxLength: 16 }),
        fc.array(fc.integer({ min: 0, max: 63 }), { minLength: 256, maxLength: 256 }),
        (d, sc, q) => {
          const y = Q6_K.decode(packQ6(d, sc, q));
          const dd = f16BitsToNumber(d);
          for (let i = 0; i < 256; i++) expect(y[i]).toBe(f(f(dd * sc[i >> 4]!) * (q[i]! - 32)));
        },
      ),
      { numRuns: 100 },
    );
  });
});
