import { WeightFileError } from "../errors/errors.ts";
import type { ByteSource } from "./bytes.ts";

/** A GGUF metadata value. */
export type GgufValue = number | bigint | boolean | string | readonly GgufValue[];
/** Metadata key → value. u64/i64 values become numbers when exact, bigint otherwise. */
export type GgufMetadata = Readonly<Record<string, GgufValue>>;

// Metadata value types.
const T_STRING = 8;
const T_ARRAY = 9;
/** Bytes of each fixed-size value type; strings and arrays are variable. */
const SCALAR_BYTES: Readonly<Record<number, number>> = {
  0: 1,
  1: 1,
  2: 2,
  3: 2,
  4: 4,
  5: 4,
  6: 4,
  7: 1,
  10: 8,
  11: 8,
  12: 8,
};
/** The fewest bytes a value of each type can take (for bounding counts before looping). */
const minBytes = (t: number): number => (t === T_STRING ? 8 : t === T_ARRAY ? 12 : (SCALAR_BYTES[t] ?? 1));
const MAX_ARRAY_DEPTH = 4;

const utf8 = new TextDecoder("utf-8");

/** Sequential reads over a ByteSource through a growing window; every read is bounds-checked. */
export class Cursor {
  pos = 0;
  private buf: Uint8Array = new Uint8Array(0);
  private view = new DataView(this.buf.buffer);
  private start = 0;
  constructor(private readonly src: ByteSource) {}

  get remaining(): number {
    return this.src.size - this.pos;
  }

  fail(expected: string, found: string): never {
    throw new WeightFileError({ file: this.src.name, expected, found });
  }

  private need(n: number, what: string): number {
    if (n > this.remaining) {
      this.fail(
        `${n} more bytes for ${what} at offset ${this.pos}`,
        `${this.remaining} bytes left (file size ${this.src.size})`,
      );
    }
    if (this.pos + n > this.start + this.buf.length) {
      const len = Math.min(this.remaining, Math.max(n, 1 << 20));
      this.buf = this.src.read(this.pos, len);
      this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
      this.start = this.pos;
    }
    const at = this.pos - this.start;
    this.pos += n;
    return at;
  }

  u8(what: string): number {
    return this.view.getUint8(this.need(1, what));
  }
  u32(what: string): number {
    return this.view.getUint32(this.need(4, what), true);
  }
  u64(what: string): bigint {
    return this.view.getBigUint64(this.need(8, what), true);
  }
  /** A u64 that must be a usable count/size/offset. */
  size(what: string): number {
    const v = this.u64(what);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`${what} ≤ 2^53`, `${v}`);
    return Number(v);
  }
  bytes(n: number, what: string): Uint8Array {
    const at = this.need(n, what);
    return this.buf.subarray(at, at + n);
  }
  string(what: string): string {
    const n = this.size(`${what} length`);
    return utf8.decode(this.bytes(n, what));
  }

  value(type: number, what: string, depth = 0): GgufValue {
    const at = (n: number) => this.need(n, what);
    switch (type) {
      case 0:
        return this.view.getUint8(at(1));
      case 1:
        return this.view.getInt8(at(1));
      case 2:
        return this.view.getUint16(at(2), true);
      case 3:
        return this.view.getInt16(at(2), true);
      case 4:
        return this.view.getUint32(at(4), true);
      case 5:
        return this.view.getInt32(at(4), true);
      case 6:
        return this.view.getFloat32(at(4), true);
      case 7: {
        const b = this.view.getUint8(at(1));
        if (b > 1) this.fail(`a bool (0 or 1) for ${what}`, `${b}`);
        return b === 1;
      }
      case T_STRING:
        return this.string(what);
      case T_ARRAY: {
        if (depth >= MAX_ARRAY_DEPTH)
          this.fail(`arrays nested at most ${MAX_ARRAY_DEPTH} deep in ${what}`, "deeper");
        const inner = this.u32(`${what} element type`);
        if (!Object.hasOwn(SCALAR_BYTES, inner) && inner !== T_STRING && inner !== T_ARRAY) {
          this.fail(`a GGUF value type (0–12) for the elements of ${what}`, `${inner}`);
        }
        const n = this.size(`${what} array length`);
        if (n * minBytes(inner) > this.remaining) {
          this.fail(`room for ${n} elements of ${what}`, `${this.remaining} bytes left`);
        }
        const out: GgufValue[] = new Array(n);
        for (let i = 0; i < n; i++) out[i] = this.value(inner, what, depth + 1);
        return out;
      }
      case 10:
      case 11: {
        const o = at(8);
        const v = type === 10 ? this.view.getBigUint64(o, true) : this.view.getBigInt64(o, true);
        const safe = v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER);
        return safe ? Number(v) : v;
      }
      case 12:
        return this.view.getFloat64(at(8), true);
      default:
        return this.fail(`a GGUF value type (0–12) for ${what}`, `${type}`);
    }
  }
}
