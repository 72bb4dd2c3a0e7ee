import { UnsupportedError, WeightFileError } from "../errors/errors.ts";
import { type HostTensor, shapeString } from "../tensor/host-tensor.ts";
import { type ByteSource, withFile } from "./bytes.ts";
import { GGML_DECODED, ggmlBytes, ggmlTypeName } from "./ggml-types.ts";
import { Cursor, type GgufMetadata, type GgufValue } from "./gguf-cursor.ts";
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

export type { GgufMetadata, GgufValue } from "./gguf-cursor.ts";

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

const MAX_DIMS = 4;

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
        `rows of whole ${ggmlTypeName(type)} blocks (${GGML_DECODED[type]?.blockElems} weights)`,
        `row length ${ne[0]}`,
      );
    if (bytes !== null) {
      if (!Number.isSafeInteger(bytes) || offset + bytes > src.size) {
        fail(
          `${shapeString(shape)} ${ggmlTypeName(type)} data (${bytes} bytes at ${offset}) inside the file`,
          `file size ${src.size}`,
        );
      }
    } else if (offset > src.size || (offset === src.size && !ne.includes(0))) {
      fail(`data offset ${offset} inside the file`, `file size ${src.size}`);
    }
    return { name, ne, shape, type, typeName: ggmlTypeName(type), offset };
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

const DECODED_NAMES = Object.keys(GGML_DECODED)
  .map((t) => ggmlTypeName(Number(t)))
  .join(", ");

export const readGgufTensor = (src: ByteSource, info: GgufTensorInfo): HostTensor => {
  const type = GGML_DECODED[info.type];
  const bytes = ggmlBytes(info.type, info.ne);
  if (type === undefined || bytes === null) {
    throw new UnsupportedError({
      file: src.name,
      what: `type of tensor ${info.name}`,
      expected: `one of the types patchbay decodes (${DECODED_NAMES})`,
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
