import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { f16BitsToNumber } from "./dtype.ts";
import { GGML_DECODED, ggmlBytes } from "./ggml-types.ts";

const Q8_0 = 8;
const Q4_0 = 2;
const Q4_1 = 3;
const Q5_0 = 6;
const Q5_1 = 7;

/** One block's bytes from its parts (little-endian, ggml-common.h order). */
const block = (parts: { f16?: number[]; u32?: number; bytes: number[]; size: number }): Uint8Array => {
  const b = new Uint8Array(parts.size);
  const v = new DataView(b.buffer);
  let o = 0;
  for (const h of parts.f16 ?? []) {
    v.setUint16(o, h, true);
    o += 2;
  }
  if (parts.u32 !== undefined) {
    v.setUint32(o, parts.u32, true);
    o += 4;
  }
  b.set(
    parts.bytes.map((x) => x & 0xff),
    o,
  );
  return b;
};

const decode = (type: number, b: Uint8Array) => Array.from(GGML_DECODED[type]!.decode(b));

// f16 bits of the scales below: 0.25, 0.5, 1, 2, −1, 10
const H = { quarter: 0x3400, half: 0x3800, one: 0x3c00, two: 0x4000, minusOne: 0xbc00, ten: 0x4900 };

describe("ggml float types: hand-made elements, worked out on paper", () => {
  const bytes = (u16: number[]) => new Uint8Array(Uint16Array.from(u16).buffer); // little-endian host

  it("F16: sign, 5-bit exponent (bias 15), 10-bit fraction; subnormals and the largest finite", () => {
    // 0x3c00 = 1, 0xc000 = −2, 0x3555 = (1 + 0x155/1024)·2^−2, 0x7bff = (2 − 2^−10)·2^15, 0x0001 = 2^−24
    const y = decode(1, bytes([0x3c00, 0xc000, 0x3555, 0x7bff, 0x0001, 0x8000]));
    expect(y).toEqual([1, -2, (1 + 0x155 / 1024) / 4, 65504, 2 ** -24, -0]);
    expect(GGML_DECODED[1]!.blockBytes).toBe(2);
  });

  it("BF16: the high 16 bits of a float32", () => {
    // 0x3f80 = 1, 0xc040 = −3, 0x3eaa = (1 + 0x2a/128)·2^−2, 0x4780 = 2^16, 0x0080 = 2^−126
    const y = decode(30, bytes([0x3f80, 0xc040, 0x3eaa, 0x4780, 0x0080]));
    expect(y).toEqual([1, -3, (1 + 0x2a / 128) / 4, 65536, 2 ** -126]);
    expect(GGML_DECODED[30]!.blockBytes).toBe(2);
  });

  it("F32: little-endian IEEE single", () => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat32(0, -1.5, true);
    new DataView(b.buffer).setFloat32(4, 1e-40, true); // a float32 subnormal
    expect(decode(0, b)).toEqual([-1.5, Math.fround(1e-40)]);
  });
});

describe("ggml legacy quantisations: hand-made blocks, worked out on paper", () => {
  it("the f16 scales are what the comments say", () => {
    expect(Object.values(H).map(f16BitsToNumber)).toEqual([0.25, 0.5, 1, 2, -1, 10]);
  });

  it("Q8_0: y = d·q with int8 q", () => {
    const qs = [-128, -1, 0, 1, 127, ...Array(27).fill(2)];
    const y = decode(Q8_0, block({ f16: [H.half], bytes: qs, size: 34 }));
    expect(y.slice(0, 6)).toEqual([-64, -0.5, 0, 0.5, 63.5, 1]);
    expect(y).toHaveLength(32);
  });

  it("Q4_0: y = d·(q − 8); byte j holds weight j (low nibble) and j + 16 (high nibble)", () => {
    const qs = [0x80, 0xf9, ...Array(14).fill(0x88)];
    const y = decode(Q4_0, block({ f16: [H.two], bytes: qs, size: 18 }));
    // weight 0: (0 − 8)·2, weight 16: (8 − 8)·2, weight 1: (9 − 8)·2, weight 17: (15 − 8)·2
    expect([y[0], y[16], y[1], y[17], y[2], y[31]]).toEqual([-16, 0, 2, 14, 0, 0]);
  });

  it("Q4_1: y = d·q + m", () => {
    const qs = [0x3c, ...Array(15).fill(0)];
    const y = decode(Q4_1, block({ f16: [H.quarter, H.minusOne], bytes: qs, size: 20 }));
    // weight 0: 12·0.25 − 1, weight 16: 3·0.25 − 1, weight 1: 0·0.25 − 1
    expect([y[0], y[16], y[1]]).toEqual([2, -0.25, -1]);
  });

  it("Q5_0: y = d·(q − 16), bit j of qh the fifth bit of weight j", () => {
    const qs = [0x21, ...Array(15).fill(0)];
    const y = decode(Q5_0, block({ f16: [H.one], u32: (1 << 0) | (1 << 16), bytes: qs, size: 22 }));
    // weight 0: (1 | 16) − 16, weight 16: (2 | 16) − 16, weight 1: 0 − 16, weight 17: 0 − 16
    expect([y[0], y[16], y[1], y[17]]).toEqual([1, 2, -16, -16]);
  });

  it("Q5_1: y = d·q + m", () => {
    const qs = [0, 0xf0, ...Array(14).fill(0)];
    const y = decode(Q5_1, block({ f16: [H.half, H.ten], u32: 1 << 17, bytes: qs, size: 24 }));
    // weight 1: 0·0.5 + 10, weight 17: (15 | 16)·0.5 + 10 = 31·0.5 + 10
    expect([y[1], y[17], y[0]]).toEqual([10, 25.5, 10]);
  });

  it("sizes: whole blocks (32 weights; 256 for the k-quants); other rows are NaN, other types null", () => {
    expect(ggmlBytes(Q8_0, [64, 3])).toBe(6 * 34);
    expect(ggmlBytes(Q4_0, [32])).toBe(18);
    expect(ggmlBytes(Q5_1, [96, 2])).toBe(6 * 24);
    expect(ggmlBytes(0, [5, 2])).toBe(40);
    expect(ggmlBytes(Q4_0, [48])).toBeNaN();
    expect(ggmlBytes(12, [512])).toBe(2 * 144); // Q4_K: 256-weight super-blocks
    expect(ggmlBytes(12, [32])).toBeNaN();
    expect(ggmlBytes(10, [256])).toBe(84); // Q2_K
    expect(ggmlBytes(11, [512, 2])).toBe(4 * 110); // Q3_K
    expect(ggmlBytes(16, [256])).toBeNull(); // IQ2_XXS: not decoded
  });
});

/**
 * A test quantiser with a given f16 scale d (and, for the _1 types, min m): q = round((x − m)/d)
 * clamped to the type's range, packed as ggml packs it. Dequantising gives back x within d/2 for
 * every x inside the representable range — the format's error bound.
 */
const quantise = (type: number, d16: number, m16: number, q: readonly number[]): Uint8Array => {
  const qs = Array.from({ length: 16 }, (_, j) => (q[j]! & 15) | ((q[j + 16]! & 15) << 4));
  const qh = q.reduce((h, v, j) => h | (((v >> 4) & 1) << j), 0) >>> 0;
  if (type === Q8_0) return block({ f16: [d16], bytes: [...q], size: 34 });
  if (type === Q4_0) return block({ f16: [d16], bytes: qs, size: 18 });
  if (type === Q4_1) return block({ f16: [d16, m16], bytes: qs, size: 20 });
  if (type === Q5_0) return block({ f16: [d16], u32: qh, bytes: qs, size: 22 });
  return block({ f16: [d16, m16], u32: qh, bytes: qs, size: 24 });
};

describe("ggml legacy quantisations: quantise then dequantise, within d/2", () => {
  // name, type, lowest and highest stored q, whether the block has a min m
  const cases: [string, number, number, number, boolean][] = [
    ["Q8_0", Q8_0, -127, 127, false],
    ["Q4_0", Q4_0, 0, 15, false],
    ["Q4_1", Q4_1, 0, 15, true],
    ["Q5_0", Q5_0, 0, 31, false],
    ["Q5_1", Q5_1, 0, 31, true],
  ];
  /** what decoding subtracts from a stored q */
  const offset = (type: number) => (type === Q4_0 ? 8 : type === Q5_0 ? 16 : 0);

  it.each(cases)("%s", (_, type, lo, hi, hasMin) => {
    fc.assert(
      fc.property(
        // a normal positive f16 scale in [2^-10, 2^5), a min in [−8, 8], 32 fractions of the range
        fc.integer({ min: 0x1400, max: 0x53ff }),
        fc.integer({ min: -2048, max: 2048 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 32, maxLength: 32 }),
        (d16, mq, u) => {
          const d = f16BitsToNumber(d16);
          const m16 = hasMin ? (mq < 0 ? 0x8000 : 0) | (0x3c00 + Math.min(Math.abs(mq), 0x1000)) : 0;
          const m = hasMin ? f16BitsToNumber(m16) : 0;
          const off = offset(type);
          // x spans the representable range [d·(lo − off) + m, d·(hi − off) + m]
          const x = u.map((f) => m + d * (lo - off + f * (hi - lo)));
          const q = x.map((v) => Math.min(hi, Math.max(lo, Math.round((v - m) / d + off))));
          const y = decode(type, quantise(type, d16, m16, q));
          // |y − x| ≤ d/2 (plus float32 rounding of the product)
          for (let j = 0; j < 32; j++)
            expect(Math.abs(y[j]! - x[j]!)).toBeLessThanOrEqual(d / 2 + 1e-6 * (Math.abs(x[j]!) + 1));
        },
      ),
      { numRuns: 200 },
    );
  });
});
