/**
 * Float decoding into Float32Array. All multi-byte values are little-endian (safetensors, GGUF,
 * llama2.c all are). Inputs are fresh 0-based buffers from ByteSource.read, so typed views align.
 */

const littleEndianHost = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * IEEE half → number. bits: s(1) e(5) m(10), bias 15.
 *   e = 0:  (−1)^s · m · 2^−24          (zero and subnormals)
 *   e = 31: (−1)^s · ∞ if m = 0, else NaN
 *   else:   (−1)^s · (1 + m/1024) · 2^(e−15)
 * Every half is exactly representable as a float32.
 */
export const f16BitsToNumber = (h: number): number => {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
};

/** bfloat16 is the top half of a float32: bits << 16 (exact, NaN payloads kept). */
export const bf16BitsToNumber = (h: number): number => {
  const u = new Uint32Array([(h & 0xffff) << 16]);
  return new Float32Array(u.buffer)[0]!;
};

let f16Table: Float32Array | null = null;
/** All 65536 halves as float32, built once. */
const halfTable = (): Float32Array => {
  if (f16Table === null) {
    f16Table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = f16BitsToNumber(h);
  }
  return f16Table;
};

const u16s = (bytes: Uint8Array): Uint16Array => {
  const n = bytes.length >> 1;
  if (littleEndianHost && bytes.byteOffset % 2 === 0)
    return new Uint16Array(bytes.buffer, bytes.byteOffset, n);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Uint16Array(n);
  for (let i = 0; i < n; i++) out[i] = dv.getUint16(2 * i, true);
  return out;
};

/**
 * F32 bytes (length a multiple of 4) → Float32Array. Takes ownership of `bytes` when it is a
 * whole fresh buffer (callers pass ByteSource.read results and never reuse them).
 */
export const decodeF32 = (bytes: Uint8Array): Float32Array => {
  const n = bytes.length >> 2;
  if (littleEndianHost) {
    // A fresh buffer exactly covered by `bytes` (what ByteSource.read returns) is reinterpreted in
    // place: no second copy of a large tensor. Otherwise copy (Buffer#slice would be a view).
    const owned =
      bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && n * 4 === bytes.length;
    if (owned && bytes.buffer instanceof ArrayBuffer) return new Float32Array(bytes.buffer);
    const copy = new Uint8Array(bytes.subarray(0, n * 4));
    return new Float32Array(copy.buffer);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = dv.getFloat32(4 * i, true);
  return out;
};

export const decodeF16 = (bytes: Uint8Array): Float32Array => {
  const table = halfTable();
  const h = u16s(bytes);
  const out = new Float32Array(h.length);
  for (let i = 0; i < h.length; i++) out[i] = table[h[i]!]!;
  return out;
};

export const decodeBF16 = (bytes: Uint8Array): Float32Array => {
  const h = u16s(bytes);
  const bits = new Uint32Array(h.length);
  for (let i = 0; i < h.length; i++) bits[i] = h[i]! << 16;
  // Uint32 → Float32 reinterpretation uses host order on both sides: correct on any host.
  return new Float32Array(bits.buffer);
};

/** Float32Array → little-endian bytes. */
export const encodeF32 = (data: Float32Array): Uint8Array => {
  if (littleEndianHost)
    return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  const out = new Uint8Array(data.length * 4);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) dv.setFloat32(4 * i, data[i]!, true);
  return out;
};
