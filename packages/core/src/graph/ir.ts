/**
 * patchbay's op-level graph IR. A Graph is a list of nodes in topological order over named
 * values; each value has a dtype and a shape whose dims are numbers or symbols ("batch", "pos").
 * The transformer builder writes it, plans (captures, interventions, metrics) extend it,
 * reverse-mode autodiff appends to it, and ./onnx.ts lowers it to an ONNX ModelProto.
 * Op names and attribute meanings are ONNX's (opset 17), so lowering is one-to-one.
 */
import type { HostTensor } from "../tensor/index.ts";

export type DType = "float32" | "int64" | "bool";

/** A dimension: a fixed size, or a symbol bound at run time ("batch", "pos", "key_pos"). */
export type Dim = number | string;

export interface Value {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly Dim[];
}

export type Attr =
  | { readonly kind: "int"; readonly value: number }
  | { readonly kind: "ints"; readonly value: readonly number[] }
  | { readonly kind: "float"; readonly value: number }
  | { readonly kind: "string"; readonly value: string };

export interface Node {
  readonly op: string;
  /** The operator set when not ONNX's own: "com.microsoft" for ORT's contrib ops (FusedMatMul). */
  readonly domain?: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attrs: Readonly<Record<string, Attr>>;
}

/** Constant data baked into the graph (weights, small index tensors). */
export type InitData =
  | { readonly dtype: "float32"; readonly tensor: HostTensor }
  | { readonly dtype: "int64"; readonly data: BigInt64Array; readonly shape: readonly number[] };

export interface Initializer {
  readonly value: Value;
  readonly data: InitData;
}

export interface Graph {
  readonly name: string;
  readonly inputs: readonly Value[];
  readonly initializers: readonly Initializer[];
  readonly nodes: readonly Node[];
  readonly outputs: readonly Value[];
  /** Every value by name (inputs, initializers, node outputs). */
  readonly values: ReadonlyMap<string, Value>;
}
