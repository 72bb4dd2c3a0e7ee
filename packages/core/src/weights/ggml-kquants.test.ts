import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { f16BitsToNumber } from "./dtype.ts";
import { Q2_K, Q3_K, Q4_K, Q5_K, Q6_K } from "./ggml-kquants.ts";

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

/** Q2_K/Q3_K's 2-bit field: weight 128n + 32k + l at bits 2k of qs[32n + l]. */
const pack2 = (b: Uint8Array, at: number, q: readonly number[]) => {
  for (let i = 0; i < 256; i++) b[at + 32 * (i >> 7) + (i & 31)]! |= (q[i]! & 3) << (2 * ((i >> 5) & 3));
};

/** A Q2_K super-block from d, dmin (f16 bits), 16 four-bit scales and mins, and q[256] in [0, 4). */
const packQ2 = (d: number, dmin: number, sc: number[], m: number[], q: number[]) => {
  const b = new Uint8Array(84);
  for (let s = 0; s < 16; s++) b[s] = sc[s]! | (m[s]! << 4);
  pack2(b, 16, q);
  const v = new DataView(b.buffer);
  v.setUint16(80, d, true);
  v.setUint16(82, dmin, true);
  return b;
};

/** A Q3_K super-block from d (f16 bits), 16 stored 6-bit scales (scale + 32) and q[256] in [0, 8). */
const packQ3 = (d: number, sc: number[], q: number[]) => {
  const b = new Uint8Array(110);
  for (let i = 0; i < 256; i++) b[i & 31]! |= (q[i]! >> 2) << (4 * (i >> 7) + ((i >> 5) & 3)); // hmask
  pack2(b, 32, q);
  for (let s = 0; s < 16; s++) {
    b[96 + (s & 7)]! |= (sc[s]! & 15) << (s < 8 ? 0 : 4);
    b[96 + 8 + (s & 3)]! |= (sc[s]! >> 4) << (2 * (s >> 2));
  }
  new DataView(b.buffer).setUint16(108, d, true);
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

  it("Q2_K: y = d·sc·q − dmin·m per 16-weight sub-block, 2-bit q at bits 2k of qs[32n + l]", () => {
    const b = new Uint8Array(84);
    // scales byte s = scale | min << 4: sub-block 0 (2, 4), 1 (3, 1), 2 (1, 0), 4 (0, 1), 6 (15, 15), 8 (5, 2)
    b.set([0x42, 0x13, 0x01, 0, 0x10, 0, 0xff, 0, 0x25], 0);
    b[16] = 0xe7; // qs[0] = 0b11_10_01_11: weight 0 → 3, 32 → 1, 64 → 2, 96 → 3
    b[16 + 16] = 0x02; // qs[16]: weight 16 → 2
    b[16 + 32] = 0x01; // qs[32]: weight 128 (second half) → 1
    b.set([0x00, 0x3c, 0x00, 0x38], 80); // d = 1, dmin = 0.5
    const y = Q2_K.decode(b);
    // 2·3 − 0.5·4, 1·1 − 0, 0·2 − 0.5·1, 15·3 − 0.5·15, 3·2 − 0.5·1, 5·1 − 0.5·2, weight 1: 2·0 − 0.5·4
    expect([y[0], y[32], y[64], y[96], y[16], y[128], y[1]]).toEqual([4, 1, -0.5, 37.5, 5.5, 4, -2]);
  });

  it("Q3_K: y = d·(sc − 32)·(q − 4·[hmask bit clear]), 6-bit scales packed in 12 bytes", () => {
    const b = new Uint8Array(110);
    b[0] = 0x11; // hmask[0]: bit 0 (weight 0) and bit 4 (weight 128) set
    b[32] = 0x03; // qs[0]: weight 0 → 3
    b[32 + 16] = 0x01; // qs[16]: weight 16 → 1 (its hmask bit clear: 1 − 4)
    b[32 + 32] = 0x02; // qs[32]: weight 128 → 2
    // stored scales: s0 = 34 (2), s1 = 29 (−3), s8 = 40 (8), s13 = 63 (31), the rest 32 (0).
    // bytes 0–7: low nibbles of s0–s7 | low nibbles of s8–s15 << 4
    // bytes 8–11: byte 8 + j holds the high 2 bits of s = j, j + 4, j + 8, j + 12 at bits 0, 2, 4, 6
    b.set([0x82, 0x0d, 0, 0, 0, 0xf0, 0, 0, 0xaa, 0xe9, 0xaa, 0xaa], 96);
    b.set([0x00, 0x38], 108); // d = 0.5
    const y = Q3_K.decode(b);
    // 0.5·2·3, 0.5·(−3)·(1 − 4), 0.5·8·2, weight 208 (s13, q 0, bit clear): 0.5·31·(0 − 4),
    // weight 1 (s0, q 0, bit clear): 0.5·2·(0 − 4)
    expect([y[0], y[16], y[128], y[208], y[1]]).toEqual([3, 4.5, 8, -62, -4]);
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

  it("Q2_K", () => {
    const four = fc.array(fc.integer({ min: 0, max: 15 }), { minLength: 16, maxLength: 16 });
    fc.assert(
      fc.property(
        f16,
        f16,
        four,
        four,
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 256, maxLength: 256 }),
        (d, dmin, sc, m, q) => {
          const y = Q2_K.decode(packQ2(d, dmin, sc, m, q));
          const dd = f16BitsToNumber(d);
          const dm = f16BitsToNumber(dmin);
          for (let i = 0; i < 256; i++) {
            const s = i >> 4; // sub-block of 16
            expect(y[i]).toBe(f(f(f(dd * sc[s]!) * q[i]!) - f(dm * m[s]!)));
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it("Q3_K", () => {
    fc.assert(
      fc.property(
        f16,
        fc.array(fc.integer({ min: 0, max: 63 }), { minLength: 16, maxLength: 16 }),
        fc.array(fc.integer({ min: 0, max: 7 }), { minLength: 256, maxLength: 256 }),
        (d, sc, q) => {
          const y = Q3_K.decode(packQ3(d, sc, q));
          const dd = f16BitsToNumber(d);
          for (let i = 0; i < 256; i++) expect(y[i]).toBe(f(f(dd * (sc[i >> 4]! - 32)) * (q[i]! - 4)));
        },
      ),
      { numRuns: 100 },
    );
  });
});

/**
 * A test quantiser for each k-quant: with the super-block's d, dmin and sub-block scales given,
 * q = round((x + dmin·m)/(d·sc)) + offset, clamped, packed as ggml packs it. Dequantising gives
 * back every x inside a sub-block's representable range within half its step d·sc (the format's
 * error bound), plus float32 rounding.
 */
describe("ggml k-quantisations: quantise then dequantise, within half a sub-block step", () => {
  interface KQuant {
    readonly sub: number; // weights per sub-block
    readonly q: readonly [number, number]; // stored q range
    readonly offset: number; // y = dl·(q − offset) − ml
    readonly sc: readonly [number, number]; // stored scale range (positive steps)
    readonly m: number; // largest stored min (0: no mins)
    readonly step: (d: number, sc: number) => number;
    readonly pack: (d: number, dmin: number, sc: number[], m: number[], q: number[]) => Uint8Array;
    readonly decode: (b: Uint8Array) => Float32Array;
  }
  const kquants: [string, KQuant][] = [
    [
      "Q2_K",
      {
        sub: 16,
        q: [0, 3],
        offset: 0,
        sc: [1, 15],
        m: 15,
        step: (d, s) => f(d * s),
        pack: packQ2,
        decode: Q2_K.decode,
      },
    ],
    [
      "Q3_K",
      {
        sub: 16,
        q: [0, 7],
        offset: 4,
        sc: [33, 63],
        m: 0,
        step: (d, s) => f(d * (s - 32)),
        pack: (d, _, sc, __, q) => packQ3(d, sc, q),
        decode: Q3_K.decode,
      },
    ],
    [
      "Q4_K",
      {
        sub: 32,
        q: [0, 15],
        offset: 0,
        sc: [1, 63],
        m: 63,
        step: (d, s) => f(d * s),
        pack: (d, dm, sc, m, q) => packQ45(d, dm, sc, m, q, false),
        decode: Q4_K.decode,
      },
    ],
    [
      "Q5_K",
      {
        sub: 32,
        q: [0, 31],
        offset: 0,
        sc: [1, 63],
        m: 63,
        step: (d, s) => f(d * s),
        pack: (d, dm, sc, m, q) => packQ45(d, dm, sc, m, q, true),
        decode: Q5_K.decode,
      },
    ],
    [
      "Q6_K",
      {
        sub: 16,
        q: [0, 63],
        offset: 32,
        sc: [1, 127],
        m: 0,
        step: (d, s) => f(d * s),
        pack: (d, _, sc, __, q) => packQ6(d, sc, q),
        decode: Q6_K.decode,
      },
    ],
  ];
  const f16 = fc.integer({ min: 0x1400, max: 0x4bff }); // normal positive f16 in [2^-10, 16)

  it.each(kquants)("%s", (_, k) => {
    const nSub = 256 / k.sub;
    fc.assert(
      fc.property(
        f16,
        f16,
        fc.array(fc.integer({ min: k.sc[0], max: k.sc[1] }), { minLength: nSub, maxLength: nSub }),
        fc.array(fc.integer({ min: 0, max: k.m }), { minLength: nSub, maxLength: nSub }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 256, maxLength: 256 }),
        (d16, dmin16, sc, m, u) => {
          const d = f16BitsToNumber(d16);
          const dmin = k.m === 0 ? 0 : f16BitsToNumber(dmin16);
          const [lo, hi] = k.q;
          const x: number[] = [];
          const q: number[] = [];
          for (let i = 0; i < 256; i++) {
            const s = Math.floor(i / k.sub);
            const dl = k.step(d, sc[s]!);
            const ml = f(dmin * m[s]!);
            x.push(dl * (lo - k.offset + u[i]! * (hi - lo)) - ml);
            q.push(Math.min(hi, Math.max(lo, Math.round((x[i]! + ml) / dl) + k.offset)));
          }
          const y = k.decode(k.pack(d16, dmin16, sc, m, q));
          for (let i = 0; i < 256; i++) {
            const s = Math.floor(i / k.sub);
            const dl = k.step(d, sc[s]!);
            const scale = Math.abs(x[i]!) + dmin * m[s]! + dl * hi;
            expect(Math.abs(y[i]! - x[i]!)).toBeLessThanOrEqual(dl / 2 + 1e-6 * scale);
          }
        },
      ),
      { numRuns: 50 },
    );
  });
});
