import { fileBacking } from "../tensor/file-backed.ts";
import { numel } from "../tensor/host-tensor.ts";
import { ProtoWriter } from "./protobuf.ts";
import type { Attr, DType, Graph, Initializer, Node, Value } from "./ir.ts";

/**
 * Lowering of the IR to an ONNX ModelProto (IR version 8, opset 17). Field numbers are those of
 * onnx.proto. Weights go inline as raw_data, or — for models whose weights exceed protobuf's 2 GB
 * limit, for spilled (file-backed) weights, or on request — into external data files beside the
 * model, as ONNX's external-data convention (location/offset/length entries) describes: one file
 * per initializer, except that spilled weights point into their own file (linked, never copied).
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
  if (n.domain !== undefined) w.string(7, n.domain);
  for (const [k, a] of Object.entries(n.attrs)) w.message(5, attribute(k, a));
  return w;
};

const dims = (init: Initializer): readonly number[] =>
  init.data.dtype === "float32" ? init.data.tensor.shape : init.data.shape;

/** Size in bytes, from the shape (a spilled tensor's data is not read for it). */
const byteLength = (init: Initializer): number =>
  init.data.dtype === "float32" ? numel(init.data.tensor.shape) * 4 : init.data.data.byteLength;

/** A view of the initializer's bytes (not a copy). */
const initBytes = (init: Initializer): Uint8Array => {
  const d = init.data.dtype === "float32" ? init.data.tensor.data : init.data.data;
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
};

/**
 * An external data file the model refers to: either bytes to write (one initializer's, a view of
 * its host buffer, not a copy) or an existing file on disk (spilled weights) to link under `path`.
 */
export type ExternalFile =
  | { readonly path: string; readonly data: Uint8Array }
  | { readonly path: string; readonly target: string };

export interface LoweredModel {
  /** The serialized ModelProto. */
  readonly model: Uint8Array;
  /** With external data: the files to place beside the model (written or linked). */
  readonly external: readonly ExternalFile[] | null;
}

export interface LowerOptions {
  /** Put initializers of at least this many bytes into external files (default: only past 1.8 GB total). */
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
  const threshold = opts.externalThreshold ?? 1024;
  // File-backed (spilled) tensors are never read here: the model points at their file.
  const backed = (i: Initializer) =>
    i.data.dtype === "float32" && byteLength(i) >= threshold ? fileBacking(i.data.tensor) : undefined;
  const total = g.initializers.reduce((s, i) => s + byteLength(i), 0);
  const useExternal =
    opts.externalThreshold !== undefined || total > TWO_GB_MARGIN || g.initializers.some((i) => backed(i));
  const external: ExternalFile[] = [];
  const linked = new Map<string, string>(); // backing file → its name beside the model

  const graph = new ProtoWriter();
  g.nodes.forEach((n, i) => {
    graph.message(1, node(n, i));
  });
  graph.string(2, g.name);
  const entry = (k: string, v: string) => new ProtoWriter().string(1, k).string(2, v);
  // ONNX external data: the tensor's bytes are [offset, offset + length) of file `location`.
  const pointTo = (t: ProtoWriter, location: string, offset: number, length: number) =>
    t
      .message(13, entry("location", location))
      .message(13, entry("offset", String(offset)))
      .message(13, entry("length", String(length)))
      .int(14, 1);
  for (const init of g.initializers) {
    const t = new ProtoWriter()
      .packedInts(1, dims(init))
      .int(2, dtypeCode(init.value.dtype))
      .string(8, init.value.name);
    const backing = useExternal ? backed(init) : undefined;
    if (backing !== undefined) {
      let path = linked.get(backing.file);
      if (path === undefined) {
        path = `linked-${linked.size}.bin`;
        linked.set(backing.file, path);
        external.push({ path, target: backing.file });
      }
      pointTo(t, path, backing.offset, byteLength(init));
    } else if (useExternal && byteLength(init) >= threshold) {
      const path = `${external.length}.bin`;
      const bytes = initBytes(init);
      pointTo(t, path, 0, bytes.length);
      external.push({ path, data: bytes });
    } else {
      const bytes = initBytes(init);
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
  // every other operator set a node names (ORT's contrib ops are version 1)
  for (const domain of new Set(g.nodes.flatMap((n) => (n.domain === undefined ? [] : [n.domain]))))
    model.message(8, new ProtoWriter().string(1, domain).int(2, 1));
  return { model: model.finish(), external: useExternal ? external : null };
};
