import { ProtoWriter } from "./protobuf.ts";
import type { Attr, DType, Graph, Initializer, Node, Value } from "./ir.ts";

/**
 * Lowering of the IR to an ONNX ModelProto (IR version 8, opset 17). Field numbers are those of
 * onnx.proto. Weights go inline as raw_data, or — for models whose weights exceed protobuf's 2 GB
 * limit, or on request — into one external data file beside the model, as ONNX's
 * external-data convention (location/offset/length entries) describes.
 */
export const OPSET = 17;
const IR_VERSION = 8;

const dtypeCode = (d: DType): number => (d === "float32" ? 1 : d === "int64" ? 7 : 9);

/** TensorShapeProto + TypeProto for a graph input or output. */
const valueInfo = (v: Value): ProtoWriter => {
  const shape = new ProtoWriter();
  for (const d of v.shape) {
    const dim = new ProtoWriter();
    if (typeof d === "number") dim.int(1, d);
    else dim.string(2, d);
    shape.message(1, dim);
  }
  const tensorType = new ProtoWriter().int(1, dtypeCode(v.dtype)).message(2, shape);
  const type = new ProtoWriter().message(1, tensorType);
  return new ProtoWriter().string(1, v.name).message(2, type);
};

const attribute = (name: string, a: Attr): ProtoWriter => {
  const w = new ProtoWriter().string(1, name);
  switch (a.kind) {
    case "int":
      return w.int(3, a.value).int(20, 2);
    case "float":
      return w.float(2, a.value).int(20, 1);
    case "string":
      return w.bytes(4, new TextEncoder().encode(a.value)).int(20, 3);
    case "ints":
      return w.packedInts(8, a.value).int(20, 7);
  }
};

const node = (n: Node, i: number): ProtoWriter => {
  const w = new ProtoWriter();
  for (const x of n.inputs) w.string(1, x);
  for (const y of n.outputs) w.string(2, y);
  w.string(3, `${n.op}_${i}`).string(4, n.op);
  for (const [k, a] of Object.entries(n.attrs)) w.message(5, attribute(k, a));
  return w;
};

const initBytes = (init: Initializer): { bytes: Uint8Array; dims: readonly number[] } => {
  const d = init.data;
  if (d.dtype === "float32") {
    const t = d.tensor.data;
    return { bytes: new Uint8Array(t.buffer, t.byteOffset, t.byteLength), dims: d.tensor.shape };
  }
  return { bytes: new Uint8Array(d.data.buffer, d.data.byteOffset, d.data.byteLength), dims: d.shape };
};

export interface LoweredModel {
  /** The serialized ModelProto. */
  readonly model: Uint8Array;
  /** With external data: the blob to write beside the model under `externalFile`. */
  readonly external: { readonly file: string; readonly chunks: readonly Uint8Array[] } | null;
}

export interface LowerOptions {
  /** Put initializers larger than this many bytes into an external file (default: only past 1.8 GB total). */
  readonly externalFile?: string;
  readonly externalThreshold?: number;
}

const TWO_GB_MARGIN = 1.8e9;

/**
 * Lower an IR graph to an ONNX ModelProto (opset OPSET), with initializers as external data\nwhen the model would pass protobuf's 2 GB limit (or past `externalThreshold`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Graph } from "@patchbay/core";
 *
 * const g = new Graph.GraphBuilder("square-sum");
 * const x = g.input("x", "float32", [3]);
 * g.output(g.named(g.reduceSum(g.mul(x, x), [0], false), "loss")); // loss = Σ x²
 * const lowered = Graph.toOnnx(g.build());
 * assert.ok(lowered.model.length > 0); // the serialised bytes, ready for any ONNX runtime
 * assert.equal(lowered.external, null);
 * ```
 */
export const toOnnx = (g: Graph, opts: LowerOptions = {}): LoweredModel => {
  const total = g.initializers.reduce((s, i) => s + initBytes(i).bytes.length, 0);
  const file = opts.externalFile ?? "weights.bin";
  const useExternal = opts.externalThreshold !== undefined || total > TWO_GB_MARGIN;
  const threshold = opts.externalThreshold ?? 1024;
  const external: Uint8Array[] = [];
  let offset = 0;

  const graph = new ProtoWriter();
  g.nodes.forEach((n, i) => {
    graph.message(1, node(n, i));
  });
  graph.string(2, g.name);
  for (const init of g.initializers) {
    const { bytes, dims } = initBytes(init);
    const t = new ProtoWriter()
      .packedInts(1, dims)
      .int(2, dtypeCode(init.value.dtype))
      .string(8, init.value.name);
    if (useExternal && bytes.length >= threshold) {
      // ONNX external data: the tensor's bytes live at [offset, offset+length) of `location`.
      // Offsets are kept 64-byte aligned so the runtime may memory-map them.
      const pad = (64 - (offset % 64)) % 64;
      if (pad > 0) external.push(new Uint8Array(pad));
      offset += pad;
      const entry = (k: string, v: string) => new ProtoWriter().string(1, k).string(2, v);
      t.message(13, entry("location", file));
      t.message(13, entry("offset", String(offset)));
      t.message(13, entry("length", String(bytes.length)));
      t.int(14, 1);
      external.push(bytes);
      offset += bytes.length;
    } else {
      t.bytes(9, bytes);
    }
    graph.message(5, t);
  }
  for (const v of g.inputs) graph.message(11, valueInfo(v));
  for (const v of g.outputs) graph.message(12, valueInfo(v));

  const opset = new ProtoWriter().string(1, "").int(2, OPSET);
  const model = new ProtoWriter()
    .int(1, IR_VERSION)
    .string(2, "patchbay")
    .string(3, "0.1.0")
    .message(7, graph)
    .message(8, opset);
  return { model: model.finish(), external: useExternal ? { file, chunks: external } : null };
};
