import { UnsupportedError, WeightFileError } from "../errors/errors.ts";
import { type HostTensor, shapeString } from "../tensor/host-tensor.ts";
import { type ByteSource, withFile } from "./bytes.ts";
import { GGML_DECODED, ggmlBytes } from "./ggml-types.ts";
import { checkFinite } from "./finite.ts";
import type { TensorTable } from "./table.ts";

/**
 * GGUF (v2 and v3; all integers little-endian):
 *   "GGUF" u32 version, u64 n_tensors, u64 n_kv
 *   n_kv × { string key, u32 value_type, value }         string = u64 length + UTF-8 bytes
 *   n_tensors × { string name, u32 n_dims, u64 ne[n_dims], u32 ggml_type, u64 offset }
 *   padding to general.alignment (default 32), then the data section; offsets are relative to it.
 * ne lists dims innermost first: a row-major [out, in] matrix has ne = [in, out].
 * Every count and length is checked against the bytes left before anything is allocated.
 */

export type GgufValue = number | bigint | boolean | string | readonly GgufValue[];
/** Metadata key → value. u64/i64 values become numbers when exact, bigint otherwise. */
export type GgufMetadata = Readonly<Record<string, GgufValue>>;

export interface GgufTensorInfo {
  readonly name: string;
  /** GGML order: innermost (contiguous) dimension first. */
  readonly ne: readonly number[];
  /** Row-major shape: ne reversed. */
  readonly shape: readonly number[];
  readonly type: number;
  readonly typeName: string;
  /** Absolute byte offset of the data in the file. */
  readonly offset: number;
}

export interface GgufHeader {
  readonly version: number;
  readonly metadata: GgufMetadata;
  readonly tensors: readonly GgufTensorInfo[];
  readonly alignment: number;
  readonly dataStart: number;
}

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

const typeName = (t: number): string => (Object.hasOwn(GGML_TYPES, t) ? GGML_TYPES[t]! : `ggml type ${t}`);

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
const MAX_DIMS = 4;

const utf8 = new TextDecoder("utf-8");

/** Sequential reads over a ByteSource through a growing window; every read is bounds-checked. */
class Cursor {
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

export const parseGgufHeader = (src: ByteSource): GgufHeader => {
  const c = new Cursor(src);
  const magic = c.bytes(4, "the magic");
  if (String.fromCharCode(...magic) !== "GGUF") {
    c.fail('magic "GGUF"', JSON.stringify(String.fromCharCode(...magic)));
  }
  const version = c.u32("the version");
  if (version !== 2 && version !== 3) {
    throw new UnsupportedError({
      file: src.name,
      what: "GGUF version",
      expected: "2 or 3",
      found: `${version}`,
    });
  }
  const nTensors = c.size("the tensor count");
  const nKv = c.size("the metadata count");
  // A key/value takes ≥ 8 (key length) + 4 (type) + 1 bytes; a tensor info ≥ 8 + 4 + 4 + 8.
  if (nKv * 13 + nTensors * 24 > c.remaining) {
    c.fail(`room for ${nKv} metadata entries and ${nTensors} tensor infos`, `${c.remaining} bytes left`);
  }

  const meta = new Map<string, GgufValue>();
  for (let i = 0; i < nKv; i++) {
    const key = c.string(`metadata key #${i}`);
    if (meta.has(key)) c.fail(`unique metadata keys`, `${JSON.stringify(key)} twice`);
    const type = c.u32(`the type of metadata ${key}`);
    meta.set(key, c.value(type, `metadata ${key}`));
  }
  const metadata: GgufMetadata = Object.fromEntries(meta);

  const align = meta.get("general.alignment") ?? 32;
  if (
    typeof align !== "number" ||
    !Number.isSafeInteger(align) ||
    align <= 0 ||
    (align & (align - 1)) !== 0
  ) {
    c.fail("general.alignment a power of two", String(align));
  }
  const alignment = align as number;

  const raw: { name: string; ne: number[]; type: number; rel: number }[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < nTensors; i++) {
    const name = c.string(`tensor name #${i}`);
    if (seen.has(name)) c.fail("unique tensor names", `${JSON.stringify(name)} twice`);
    seen.add(name);
    const nDims = c.u32(`n_dims of tensor ${name}`);
    if (nDims > MAX_DIMS) c.fail(`at most ${MAX_DIMS} dims for tensor ${name}`, `${nDims}`);
    const ne: number[] = [];
    for (let k = 0; k < nDims; k++) ne.push(c.size(`dim ${k} of tensor ${name}`));
    const type = c.u32(`the type of tensor ${name}`);
    const rel = c.size(`the offset of tensor ${name}`);
    raw.push({ name, ne, type, rel });
  }
  const dataStart = Math.ceil(c.pos / alignment) * alignment;
  const tensors = raw.map(({ name, ne, type, rel }): GgufTensorInfo => {
    const fail = (expected: string, found: string): never => {
      throw new WeightFileError({ file: src.name, tensor: name, expected, found });
    };
    if (rel % alignment !== 0) fail(`an offset aligned to ${alignment}`, `${rel}`);
    const offset = dataStart + rel;
    const shape = [...ne].reverse();
    const bytes = ggmlBytes(type, ne);
    if (Number.isNaN(bytes))
      fail(
        `rows of whole ${typeName(type)} blocks (${GGML_DECODED[type]?.blockElems} weights)`,
        `row length ${ne[0]}`,
      );
    if (bytes !== null) {
      if (!Number.isSafeInteger(bytes) || offset + bytes > src.size) {
        fail(
          `${shapeString(shape)} ${typeName(type)} data (${bytes} bytes at ${offset}) inside the file`,
          `file size ${src.size}`,
        );
      }
    } else if (offset > src.size || (offset === src.size && !ne.includes(0))) {
      fail(`data offset ${offset} inside the file`, `file size ${src.size}`);
    }
    return { name, ne, shape, type, typeName: typeName(type), offset };
  });
  checkNoOverlap(src.name, tensors, dataStart);
  return { version, metadata, tensors, alignment, dataStart };
};

/** Bytes of a tensor's data, when we know its type's size (the types we decode); else null. */
const dataBytes = (t: GgufTensorInfo): number | null => ggmlBytes(t.type, t.ne);

/**
 * No two tensors may share bytes (llama.cpp lays them out one after another). Sorted by offset,
 * each tensor must end before the next begins; a tensor of a type whose size we do not know
 * (quantised) counts as at least one byte unless it has no elements. A WeightFileError names both.
 */
const checkNoOverlap = (file: string, tensors: readonly GgufTensorInfo[], dataStart: number): void => {
  const sorted = [...tensors].sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1]!;
    const b = sorted[i]!;
    const known = dataBytes(a);
    const size = known ?? (a.ne.some((d) => d === 0) ? 0 : 1);
    if (a.offset + size > b.offset) {
      const rel = a.offset - dataStart;
      throw new WeightFileError({
        file,
        tensor: b.name,
        expected: `data not overlapping tensor ${a.name} (${known === null ? `${a.typeName} data starting at ${rel}` : `bytes [${rel}, ${rel + known})`} of the data section)`,
        found: `offset ${b.offset - dataStart}`,
      });
    }
  }
};

/**
 * Header (metadata and tensor infos) of a GGUF file; tensor data is not read.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { readGgufHeader } from "@patchbay/core/weights";
 *
 * const file = join(tmpdir(), "not-gguf.gguf");
 * writeFileSync(file, "safetensors, really");
 * assert.throws(() => readGgufHeader(file), { _tag: "WeightFileError", file });
 * ```
 */
export const readGgufHeader = (path: string): GgufHeader => withFile(path, parseGgufHeader);

/**
 * The metadata of a GGUF file (architecture, hyperparameters, vocabulary), without its tensors.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readGgufMetadata } from "@patchbay/core/weights";
 *
 * assert.throws(() => readGgufMetadata("no-such.gguf"), { _tag: "WeightFileError" });
 * ```
 */
export const readGgufMetadata = (path: string): GgufMetadata => readGgufHeader(path).metadata;

export const readGgufTensor = (src: ByteSource, info: GgufTensorInfo): HostTensor => {
  const type = GGML_DECODED[info.type];
  const bytes = ggmlBytes(info.type, info.ne);
  if (type === undefined || bytes === null) {
    throw new UnsupportedError({
      file: src.name,
      what: `type of tensor ${info.name}`,
      expected: "F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K or Q6_K (not yet Q2_K, Q3_K)",
      found: info.typeName,
    });
  }
  return { data: type.decode(src.read(info.offset, bytes)), shape: [...info.shape] };
};

/** A lazy table over a GGUF file; entry shapes are row-major (ne reversed); reads must be finite. */
export const ggufTable = (path: string, header: GgufHeader): TensorTable => {
  const byName = new Map(header.tensors.map((t) => [t.name, t]));
  return {
    file: path,
    names: () => [...byName.keys()],
    entry: (name) => {
      const t = byName.get(name);
      return t === undefined ? undefined : { name, dtype: t.typeName, shape: t.shape, file: path };
    },
    read: (name) => {
      const t = byName.get(name);
      if (t === undefined) {
        throw new WeightFileError({
          file: path,
          tensor: name,
          expected: "a tensor of this name",
          found: "none",
        });
      }
      return checkFinite(
        withFile(path, (src) => readGgufTensor(src, t)),
        path,
        name,
      );
    },
  };
};
