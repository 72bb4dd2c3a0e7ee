import { UnsupportedError, WeightFileError } from "../errors/errors.ts";
import { type HostTensor, numel, shapeString } from "../tensor/host-tensor.ts";
import { type ByteSource, bytesSource, withFile } from "./bytes.ts";
import { decodeBF16, decodeF16, decodeF32, encodeF32 } from "./dtype.ts";
import { checkFinite } from "./finite.ts";
import type { TensorEntry, TensorTable } from "./table.ts";

/**
 * safetensors: u64 LE header length N, then N bytes of UTF-8 JSON
 *   { "__metadata__"?: {str: str}, name: {dtype, shape, data_offsets: [begin, end]}, ... }
 * then the data section; offsets are relative to its start (byte 8 + N), row-major, little-endian.
 */

/** Bytes per element of every safetensors dtype (the ones we decode: F32, F16, BF16). */
const DTYPE_BYTES: Readonly<Record<string, number>> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  F8_E8M0: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  I64: 8,
  U64: 8,
  F64: 8,
};
const DECODED = ["F32", "F16", "BF16"];

/** The reference implementation refuses headers above 100 MB; so do we. */
const MAX_HEADER = 100_000_000;

export interface SafetensorsEntry extends TensorEntry {
  /** Absolute byte range in the file. */
  readonly begin: number;
  readonly end: number;
}

export interface SafetensorsHeader {
  readonly metadata: Readonly<Record<string, string>>;
  /** In header order. */
  readonly entries: ReadonlyMap<string, SafetensorsEntry>;
}

export interface SafetensorsContents {
  readonly metadata: Readonly<Record<string, string>>;
  readonly tensors: ReadonlyMap<string, HostTensor>;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

const show = (v: unknown): string => {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 80 ? `${s.slice(0, 77)}...` : s;
};

/**
 * The tensors must tile the data section exactly, as the reference implementation requires: sorted
 * by offset, each starts where the previous one ends, the first at 0 and the last at the end of
 * the file. Anything else means the header and the bytes disagree, and reading on would decode
 * garbage: a header length one byte short (the JSON's trailing padding space lost) shifts every
 * tensor by a byte, and shows up here as one byte past the last tensor. Overlaps, gaps and
 * trailing bytes are each a WeightFileError naming the tensor(s) and the offsets.
 */
const checkCoverage = (
  file: string,
  entries: readonly SafetensorsEntry[],
  dataStart: number,
  dataSize: number,
  headerLength: number,
): void => {
  const fail = (expected: string, found: string, tensor?: string): never => {
    throw new WeightFileError({ file, expected, found, ...(tensor === undefined ? {} : { tensor }) });
  };
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let prev: SafetensorsEntry | undefined;
  for (const e of sorted) {
    const begin = e.begin - dataStart;
    if (begin < covered) {
      fail(
        `data not overlapping tensor ${prev!.name} (which ends at ${covered})`,
        `data_offsets starting at ${begin}`,
        e.name,
      );
    }
    if (begin > covered) {
      fail(
        `data_offsets starting at ${covered}, ${prev === undefined ? "the start of the data section" : `where tensor ${prev.name} ends`} (tensors must tile the data section)`,
        `data_offsets starting at ${begin} (a gap of ${begin - covered} bytes)`,
        e.name,
      );
    }
    covered = e.end - dataStart;
    prev = e;
  }
  if (covered !== dataSize) {
    fail(
      `a data section of exactly ${covered} bytes (what the tensors' data_offsets cover), i.e. a file of ${dataStart + covered} bytes`,
      `${dataSize} bytes after the header (${dataSize - covered} bytes past the last tensor; header length ${headerLength}: is it right?)`,
    );
  }
};

export const parseSafetensorsHeader = (src: ByteSource): SafetensorsHeader => {
  const file = src.name;
  const fail = (expected: string, found: string, tensor?: string): never => {
    throw new WeightFileError({ file, expected, found, ...(tensor === undefined ? {} : { tensor }) });
  };
  if (src.size < 8) fail("at least 8 bytes (the u64 header length)", `a file of ${src.size} bytes`);
  const lenBytes = new DataView(src.read(0, 8).buffer);
  const lo = lenBytes.getUint32(0, true);
  const hi = lenBytes.getUint32(4, true);
  const n = hi * 2 ** 32 + lo;
  const room = src.size - 8;
  if (n > room) fail(`header length ≤ ${room} (file size ${src.size} − 8)`, `header length ${n}`);
  if (n > MAX_HEADER) fail(`header length ≤ ${MAX_HEADER}`, `header length ${n}`);
  if (n < 2) fail("a JSON header of at least 2 bytes", `header length ${n}`);

  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(src.read(8, n)));
  } catch (e) {
    fail("a UTF-8 JSON header", e instanceof Error ? e.message : String(e));
  }
  if (!isRecord(json)) fail("a JSON object header", show(json));
  const header = json as Record<string, unknown>;

  const metaEntries: [string, string][] = [];
  const meta = header.__metadata__;
  if (meta !== undefined) {
    if (!isRecord(meta)) fail("an object of strings", show(meta), "__metadata__");
    for (const [k, v] of Object.entries(meta as Record<string, unknown>)) {
      if (typeof v !== "string") fail(`a string for key ${k}`, show(v), "__metadata__");
      metaEntries.push([k, v as string]);
    }
  }

  // fromEntries: a key like "__proto__" stays an own property
  const metadata: Record<string, string> = Object.fromEntries(metaEntries);

  const dataStart = 8 + n;
  const dataSize = src.size - dataStart;
  const entries = new Map<string, SafetensorsEntry>();
  for (const [name, raw] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    if (!isRecord(raw)) fail("an object {dtype, shape, data_offsets}", show(raw), name);
    const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
    if (typeof dtype !== "string") fail("a dtype string", show(dtype), name);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail("a shape of non-negative integers", show(shape), name);
    }
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)
    ) {
      fail("data_offsets [begin, end] of non-negative integers", show(offsets), name);
    }
    const dims = shape as number[];
    const [begin, end] = offsets as [number, number];
    if (begin > end) fail("data_offsets with begin ≤ end", `[${begin}, ${end}]`, name);
    if (end > dataSize) {
      fail(`data_offsets end ≤ ${dataSize} (the data section size)`, `[${begin}, ${end}]`, name);
    }
    const itemBytes = Object.hasOwn(DTYPE_BYTES, dtype as string) ? DTYPE_BYTES[dtype as string] : undefined;
    if (itemBytes !== undefined) {
      const count = numel(dims);
      if (!Number.isSafeInteger(count * itemBytes) || count * itemBytes !== end - begin) {
        fail(
          `${count * itemBytes} bytes (${shapeString(dims)} × ${itemBytes}-byte ${dtype})`,
          `${end - begin} bytes (data_offsets [${begin}, ${end}])`,
          name,
        );
      }
    }
    entries.set(name, {
      name,
      dtype: dtype as string,
      shape: dims,
      file,
      begin: dataStart + begin,
      end: dataStart + end,
    });
  }

  checkCoverage(file, [...entries.values()], dataStart, dataSize, n);
  return { metadata, entries };
};

/** Decode one tensor: F32, F16 and BF16 become float32; anything else is UnsupportedError. */
export const readSafetensorsTensor = (src: ByteSource, e: SafetensorsEntry): HostTensor => {
  if (!DECODED.includes(e.dtype)) {
    throw new UnsupportedError({
      file: src.name,
      what: `dtype of tensor ${e.name}`,
      expected: DECODED.join(", "),
      found: e.dtype,
    });
  }
  const bytes = src.read(e.begin, e.end - e.begin);
  const data =
    e.dtype === "F32" ? decodeF32(bytes) : e.dtype === "F16" ? decodeF16(bytes) : decodeBF16(bytes);
  return { data, shape: [...e.shape] };
};

/**
 * A lazy table over a safetensors file: the header is parsed (and fully validated) now; each
 * tensor is read from disk when asked for, and must be finite (a model's weights: NaN or ±Inf is
 * a WeightFileError naming the tensor and the first bad index).
 */
export const safetensorsTable = (path: string): TensorTable => {
  const header = withFile(path, parseSafetensorsHeader);
  return {
    file: path,
    names: () => [...header.entries.keys()],
    entry: (name) => header.entries.get(name),
    read: (name) => {
      const e = header.entries.get(name);
      if (e === undefined) {
        throw new WeightFileError({
          file: path,
          tensor: name,
          expected: "a tensor of this name",
          found: "none",
        });
      }
      return checkFinite(
        withFile(path, (src) => readSafetensorsTensor(src, e)),
        path,
        name,
      );
    },
  };
};

const readAll = (src: ByteSource): SafetensorsContents => {
  const h = parseSafetensorsHeader(src);
  const tensors = new Map<string, HostTensor>();
  for (const e of h.entries.values()) tensors.set(e.name, readSafetensorsTensor(src, e));
  return { metadata: h.metadata, tensors };
};

/**
 * Read every tensor of a safetensors file (any non-float dtype is UnsupportedError).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readSafetensors } from "@patchbay/core/weights";
 *
 * const { tensors } = readSafetensors("testdata/fixtures/tiny-gpt2/model.safetensors"); // names as in the file
 * assert.deepEqual(tensors.get("wte.weight")?.shape, [61, 32]);
 * ```
 */
export const readSafetensors = (path: string): SafetensorsContents => withFile(path, readAll);

/**
 * Parse safetensors bytes already in memory; `name` labels errors.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseSafetensors, writeSafetensors } from "@patchbay/core/weights";
 *
 * const { tensors } = parseSafetensors(writeSafetensors({ b: { data: new Float32Array([0.5]), shape: [1] } }));
 * assert.deepEqual([...tensors.get("b")!.data], [0.5]);
 * assert.throws(() => parseSafetensors(new Uint8Array(3), "short.safetensors"), { _tag: "WeightFileError" });
 * ```
 */
export const parseSafetensors = (bytes: Uint8Array, name = "<safetensors bytes>"): SafetensorsContents =>
  readAll(bytesSource(name, bytes));

/**
 * Serialise float32 tensors as safetensors (dtype F32, data in the given order, header padded
 * with spaces to a multiple of 8 bytes so the data section is aligned).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseSafetensors, writeSafetensors } from "@patchbay/core/weights";
 *
 * const bytes = writeSafetensors({ w: { data: new Float32Array([1, 2, 3, 4]), shape: [2, 2] } }, { note: "hi" });
 * const back = parseSafetensors(bytes);
 * assert.deepEqual(back.tensors.get("w")?.shape, [2, 2]);
 * assert.equal(back.metadata.note, "hi");
 * ```
 */
export const writeSafetensors = (
  tensors: ReadonlyMap<string, HostTensor> | Readonly<Record<string, HostTensor>>,
  metadata?: Readonly<Record<string, string>>,
): Uint8Array => {
  const list: [string, HostTensor][] =
    tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors as Record<string, HostTensor>);
  // Entries, then Object.fromEntries: own data properties even for a name like "__proto__".
  const entries: [string, unknown][] = [];
  if (metadata !== undefined) entries.push(["__metadata__", Object.fromEntries(Object.entries(metadata))]);
  let offset = 0;
  for (const [name, t] of list) {
    if (name === "__metadata__") {
      throw new WeightFileError({
        file: "(writeSafetensors)",
        tensor: name,
        expected: "a tensor name other than __metadata__",
        found: name,
      });
    }
    if (t.data.length !== numel(t.shape)) {
      throw new WeightFileError({
        file: "(writeSafetensors)",
        tensor: name,
        expected: `${numel(t.shape)} elements for shape ${shapeString(t.shape)}`,
        found: `${t.data.length}`,
      });
    }
    const bytes = t.data.length * 4;
    entries.push([name, { dtype: "F32", shape: [...t.shape], data_offsets: [offset, offset + bytes] }]);
    offset += bytes;
  }
  const header = Object.fromEntries(entries);
  let json = new TextEncoder().encode(JSON.stringify(header));
  const pad = (8 - ((8 + json.length) % 8)) % 8;
  if (pad > 0) json = new TextEncoder().encode(JSON.stringify(header) + " ".repeat(pad));
  const out = new Uint8Array(8 + json.length + offset);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, json.length % 2 ** 32, true);
  dv.setUint32(4, Math.floor(json.length / 2 ** 32), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const [, t] of list) {
    out.set(encodeF32(t.data), at);
    at += t.data.length * 4;
  }
  return out;
};
