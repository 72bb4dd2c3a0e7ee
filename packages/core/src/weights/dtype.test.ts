import { describe, expect, it } from "vitest";
import { bf16BitsToNumber, decodeBF16, decodeF16, f16BitsToNumber } from "./dtype.ts";

const bytesOf16 = (bits: number[]): Uint8Array => {
  const out = new Uint8Array(bits.length * 2);
  const dv = new DataView(out.buffer);
  bits.forEach((b, i) => {
    dv.setUint16(2 * i, b, true);
  });
  return out;
};

describe("F16 → F32", () => {
  it("decodes known bit patterns (normals, subnormals, zeros, inf, nan)", () => {
    const cases: [number, number][] = [
      [0x3c00, 1],
      [0xc000, -2],
      [0x3555, 0.333251953125],
      [0x7bff, 65504], // largest normal
      [0x0400, 2 ** -14], // smallest normal
      [0x03ff, 1023 * 2 ** -24], // largest subnormal
      [0x0001, 2 ** -24], // smallest subnormal
      [0x8001, -(2 ** -24)],
      [0x7c00, Number.POSITIVE_INFINITY],
      [0xfc00, Number.NEGATIVE_INFINITY],
    ];
    const decoded = decodeF16(bytesOf16(cases.map(([b]) => b)));
    cases.forEach(([bits, v], i) => {
      expect(f16BitsToNumber(bits)).toBe(v);
      expect(decoded[i]).toBe(v);
    });
    expect(Object.is(f16BitsToNumber(0x0000), 0)).toBe(true);
    expect(Object.is(f16BitsToNumber(0x8000), -0)).toBe(true);
    expect(Object.is(decodeF16(bytesOf16([0x8000]))[0], -0)).toBe(true);
    expect(Number.isNaN(f16BitsToNumber(0x7e00))).toBe(true);
    expect(Number.isNaN(decodeF16(bytesOf16([0x7c01, 0xfe00]))[1])).toBe(true);
  });

  it("is exhaustively monotone and sign-symmetric over all 65536 halves", () => {
    const all = decodeF16(bytesOf16(Array.from({ length: 65536 }, (_, i) => i)));
    const bad: number[] = [];
    for (let h = 1; h <= 0x7c00; h++) if (!(all[h]! > all[h - 1]!)) bad.push(h);
    for (let h = 0; h < 0x8000; h++) {
      const neg = all[h | 0x8000]!;
      if (Number.isNaN(all[h]!) ? !Number.isNaN(neg) : !Object.is(neg, -all[h]!)) bad.push(h | 0x8000);
    }
    // consecutive subnormals are exactly 2^-24 apart; normals double every 1024 steps
    for (let h = 1; h < 0x0400; h++) if (all[h]! - all[h - 1]! !== 2 ** -24) bad.push(h);
    expect(bad).toEqual([]);
    for (let e = 1; e < 30; e++) expect(all[(e + 1) << 10]).toBe(2 * all[e << 10]!);
  });
});

describe("BF16 → F32", () => {
  it("decodes known bit patterns", () => {
    const cases: [number, number][] = [
      [0x3f80, 1],
      [0xc000, -2],
      [0x4049, 3.140625],
      [0x7f7f, 3.3895313892515355e38], // largest finite
      [0x0001, 2 ** -133], // smallest subnormal
      [0x7f80, Number.POSITIVE_INFINITY],
      [0xff80, Number.NEGATIVE_INFINITY],
    ];
    const decoded = decodeBF16(bytesOf16(cases.map(([b]) => b)));
    cases.forEach(([bits, v], i) => {
      expect(bf16BitsToNumber(bits)).toBe(v);
      expect(decoded[i]).toBe(v);
    });
    expect(Object.is(decodeBF16(bytesOf16([0x8000]))[0], -0)).toBe(true);
    expect(Number.isNaN(decodeBF16(bytesOf16([0x7fc0]))[0])).toBe(true);
  });

  it("is the upper half of the float32 bits, for every non-NaN pattern", () => {
    const all = decodeBF16(bytesOf16(Array.from({ length: 65536 }, (_, i) => i)));
    const bits = new Uint32Array(all.buffer);
    const bad: number[] = [];
    for (let h = 0; h < 65536; h++) if (!Number.isNaN(all[h]!) && bits[h]! >>> 16 !== h) bad.push(h);
    expect(bad).toEqual([]);
  });
});
